#include "seer/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;

DType ParseDType(const std::string& path, const std::string& name, const std::string& dtype) {
  if (dtype == "F32") return DType::kF32;
  if (dtype == "F16") return DType::kF16;
  if (dtype == "BF16") return DType::kBF16;
  Throw<FormatError>("'{}': tensor '{}' has dtype {} (F32, F16 and BF16 are supported)", path, name,
                     dtype);
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(std::make_shared<common::MappedFile>(path)) {
  const auto bytes = file_->bytes();
  if (bytes.size() < 8)
    Throw<FormatError>("'{}': not a safetensors file: it is shorter than its 8-byte header size",
                       path);
  std::uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8 || header_size > (100u << 20)) {
    Throw<FormatError>(
        "'{}': safetensors header size {} exceeds the file ({} bytes); truncated or not "
        "safetensors",
        path, header_size, bytes.size());
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8,
                                   bytes.begin() + 8 + static_cast<long>(header_size));
  } catch (const nlohmann::json::exception& e) {
    Throw<FormatError>("'{}': the safetensors header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object())
    Throw<FormatError>("'{}': the safetensors header is not a JSON object", path);
  const std::uint64_t data_start = 8 + header_size;
  const std::uint64_t data_size = bytes.size() - data_start;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) Throw<FormatError>("'{}': __metadata__ is not an object", path);
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) Throw<FormatError>("'{}': metadata '{}' is not a string", path, key);
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor t;
    t.name = name;
    try {
      t.dtype = ParseDType(path, name, value.at("dtype").get<std::string>());
      t.shape = value.at("shape").get<std::vector<std::uint64_t>>();
      const auto offsets = value.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
        Throw<FormatError>("'{}': tensor '{}' has data offsets outside the file's {} data bytes",
                           path, name, data_size);
      }
      t.elements = 1;
      for (auto d : t.shape) {
        if (d != 0 && t.elements > (std::uint64_t{1} << 40) / d)
          Throw<FormatError>("'{}': tensor '{}' is impossibly large", path, name);
        t.elements *= d;
      }
      t.offset = data_start + offsets[0];
      t.size_bytes = offsets[1] - offsets[0];
      if (t.size_bytes != t.elements * DTypeBlockBytes(t.dtype)) {
        Throw<FormatError>("'{}': tensor '{}' has {} bytes but its shape needs {}", path, name,
                           t.size_bytes, t.elements * DTypeBlockBytes(t.dtype));
      }
    } catch (const nlohmann::json::exception& e) {
      Throw<FormatError>("'{}': tensor '{}' has a malformed header entry: {}", path, name,
                         e.what());
    }
    tensors_.push_back(std::move(t));
  }
}

const SafetensorsTensor* SafetensorsFile::Find(const std::string& name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<float> SafetensorsFile::ReadF32(const SafetensorsTensor& t) const {
  std::vector<float> out(t.elements);
  DequantizeToF32(t.dtype, file_->bytes().data() + t.offset, t.elements, out.data());
  return out;
}

void WriteSafetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                      const std::vector<SafetensorsOutput>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    std::uint64_t elements = 1;
    for (auto d : t.shape) elements *= d;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + elements * 4}}};
    offset += elements * 4;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::string bytes(8, '\0');
  const std::uint64_t header_size = text.size();
  std::memcpy(bytes.data(), &header_size, 8);
  bytes += text;
  for (const auto& t : tensors) {
    std::uint64_t elements = 1;
    for (auto d : t.shape) elements *= d;
    bytes.append(reinterpret_cast<const char*>(t.data), elements * 4);
  }
  common::WriteFileAtomically(path, bytes);
}

}  // namespace seer
