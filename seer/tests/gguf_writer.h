// Writes GGUF files for tests: real-format fixtures with chosen dtypes, and hostile variants
// (every field can be set to a value a correct writer would never produce).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "seer/model.h"

namespace seer::test {

struct GgufWriter {
  struct Entry {
    std::string key;
    std::uint32_t type;                 // GGUF value type.
    std::vector<std::uint8_t> encoded;  // The value as it follows the type field.
  };
  struct Tensor {
    std::string name;
    std::vector<std::uint64_t> ne;  // Innermost first.
    std::uint32_t ggml_type = 0;
    std::vector<std::uint8_t> data;
    std::optional<std::uint64_t> offset;  // Overrides the computed data offset.
  };

  std::uint32_t version = 3;
  std::optional<std::uint64_t> tensor_count;  // Overrides the real count.
  std::optional<std::uint64_t> kv_count;
  std::uint64_t alignment = 32;
  std::vector<Entry> entries;
  std::vector<Tensor> tensors;

  void AddUint32(const std::string& key, std::uint32_t v);
  void AddFloat32(const std::string& key, float v);
  void AddString(const std::string& key, const std::string& v);
  void AddBool(const std::string& key, bool v);
  void AddStringArray(const std::string& key, const std::vector<std::string>& v);
  void AddFloat32Array(const std::string& key, const std::vector<float>& v);
  void AddInt32Array(const std::string& key, const std::vector<std::int32_t>& v);
  // Adds a tensor of `values` stored as `dtype` (0 = F32, 1 = F16, 8 = Q8_0, 30 = BF16).
  void AddTensor(const std::string& name, std::vector<std::uint64_t> ne,
                 const std::vector<float>& values, std::uint32_t ggml_type = 0);

  std::vector<std::uint8_t> Serialize() const;
  void Write(const std::string& path) const;
};

// Returns a GGUF writer holding `model` (weights, config and vocabulary) with every weight
// matrix stored as `ggml_type` (norm vectors stay F32, as llama.cpp does).
GgufWriter WriterForModel(const Model& model, std::uint32_t ggml_type);

// Returns a fresh path in the test's temporary directory.
std::string TempPath(const std::string& name);

}  // namespace seer::test
