// Reader and writer for safetensors files:
//   u64 header_size | JSON header | tensor data
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the end of the header) and may hold "__metadata__", a map of strings.
// Every size and offset is validated against the file before use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "seer/dtype.h"

namespace seer {

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = 0;  // From the start of the file.
  std::uint64_t size_bytes = 0;
  std::uint64_t elements = 0;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* Find(const std::string& name) const;
  // Returns the tensor converted to fp32.
  std::vector<float> ReadF32(const SafetensorsTensor& tensor) const;

 private:
  std::shared_ptr<common::MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensor> tensors_;
};

struct SafetensorsOutput {
  std::string name;
  std::vector<std::uint64_t> shape;
  const float* data = nullptr;  // Written as F32.
};

// Writes the tensors and metadata to `path` atomically.
void WriteSafetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                      const std::vector<SafetensorsOutput>& tensors);

}  // namespace seer
