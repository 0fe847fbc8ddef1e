// Reader for GGUF v2/v3 model files (the llama.cpp format).
//
// Layout (little-endian):
//   magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x { string key | u32 value_type | value }
//   tensor_count x { string name | u32 n_dims | n_dims x u64 ne | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32) | tensor data
// A string is u64 length + bytes; an array value is u32 element type + u64 count + elements.
// ne[0] is the innermost (contiguous) dimension, so a PyTorch [out, in] weight has ne = {in, out}.
//
// Everything is validated while parsing: lengths and counts against the bytes that remain,
// dimensions against overflow, tensor ranges against the file size. Any problem throws
// common::FormatError naming the file and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/mapped_file.h"
#include "seer/dtype.h"

namespace seer {

enum class GgufValueType : std::uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

struct GgufValue;
using GgufArray = std::vector<GgufValue>;

// One metadata value: integers widen to (u)int64, floats to double.
struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, GgufArray> value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<std::uint64_t> shape;  // ne[0] first (innermost).
  DType dtype = DType::kF32;
  std::uint64_t offset = 0;  // From the start of the file, after validation.
  std::uint64_t size_bytes = 0;
  std::uint64_t elements = 0;
};

class GgufFile {
 public:
  // Maps and parses `path`.
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  std::uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  bool Has(const std::string& key) const { return metadata_.count(key) != 0; }
  // Typed accessors; a missing key or a value of another type throws FormatError.
  std::uint64_t GetUint(const std::string& key) const;
  double GetFloat(const std::string& key) const;
  bool GetBool(const std::string& key) const;
  const std::string& GetString(const std::string& key) const;
  std::vector<std::string> GetStringArray(const std::string& key) const;
  std::vector<double> GetFloatArray(const std::string& key) const;
  std::vector<std::int64_t> GetIntArray(const std::string& key) const;

  // Returns the tensor named `name`, or nullptr.
  const GgufTensorInfo* FindTensor(const std::string& name) const;
  // Returns the bytes of a tensor (already bounds-checked).
  std::span<const std::uint8_t> TensorData(const GgufTensorInfo& info) const;

 private:
  const GgufValue& Get(const std::string& key) const;

  std::shared_ptr<common::MappedFile> file_;
  std::uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
};

// Returns true when the file at `path` starts with the GGUF magic.
bool IsGgufFile(const std::string& path);

}  // namespace seer
