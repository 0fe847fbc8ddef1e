#include "seer/gguf.h"

#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include "io/byte_reader.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;

constexpr std::uint64_t kMaxTensors = 1u << 20;
constexpr std::uint64_t kMaxMetadata = 1u << 20;
constexpr std::uint32_t kMaxDims = 4;
constexpr int kMaxArrayDepth = 4;

std::string ReadString(ByteReader& in, std::string_view what) {
  const auto length = in.Read<std::uint64_t>(what);
  if (length > in.remaining()) {
    in.Fail(fmt::format("{} claims a length of {} bytes but only {} remain", what, length,
                        in.remaining()));
  }
  auto bytes = in.ReadBytes(static_cast<std::size_t>(length), what);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Returns the smallest encoded size of one value of `type`, to bound array counts.
std::size_t MinEncodedSize(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
    case GgufValueType::kString:
      return 8;
    case GgufValueType::kArray:
      return 12;
  }
  return 1;
}

GgufValueType ReadValueType(ByteReader& in, const std::string& key) {
  const auto raw = in.Read<std::uint32_t>("a metadata value type");
  if (raw > static_cast<std::uint32_t>(GgufValueType::kFloat64)) {
    in.Fail(fmt::format("metadata '{}' has unknown value type {}", key, raw));
  }
  return static_cast<GgufValueType>(raw);
}

GgufValue ReadValue(ByteReader& in, GgufValueType type, const std::string& key, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufValueType::kUint8:
      v.value = std::uint64_t{in.Read<std::uint8_t>(key)};
      break;
    case GgufValueType::kInt8:
      v.value = std::int64_t{in.Read<std::int8_t>(key)};
      break;
    case GgufValueType::kUint16:
      v.value = std::uint64_t{in.Read<std::uint16_t>(key)};
      break;
    case GgufValueType::kInt16:
      v.value = std::int64_t{in.Read<std::int16_t>(key)};
      break;
    case GgufValueType::kUint32:
      v.value = std::uint64_t{in.Read<std::uint32_t>(key)};
      break;
    case GgufValueType::kInt32:
      v.value = std::int64_t{in.Read<std::int32_t>(key)};
      break;
    case GgufValueType::kUint64:
      v.value = in.Read<std::uint64_t>(key);
      break;
    case GgufValueType::kInt64:
      v.value = in.Read<std::int64_t>(key);
      break;
    case GgufValueType::kFloat32:
      v.value = double{in.Read<float>(key)};
      break;
    case GgufValueType::kFloat64:
      v.value = in.Read<double>(key);
      break;
    case GgufValueType::kBool: {
      const auto b = in.Read<std::uint8_t>(key);
      if (b > 1) in.Fail(fmt::format("metadata '{}' has invalid bool value {}", key, b));
      v.value = b == 1;
      break;
    }
    case GgufValueType::kString:
      v.value = ReadString(in, "metadata '" + key + "'");
      break;
    case GgufValueType::kArray: {
      if (depth >= kMaxArrayDepth)
        in.Fail(fmt::format("metadata '{}' nests arrays too deeply", key));
      const GgufValueType element = ReadValueType(in, key);
      const auto count = in.Read<std::uint64_t>("an array length");
      if (count > in.remaining() / MinEncodedSize(element)) {
        in.Fail(fmt::format("metadata '{}' claims {} array elements, more than the file can hold",
                            key, count));
      }
      GgufArray items;
      items.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i)
        items.push_back(ReadValue(in, element, key, depth + 1));
      v.value = std::move(items);
      break;
    }
  }
  return v;
}

DType ToDType(std::uint32_t ggml_type, ByteReader& in, const std::string& name) {
  switch (ggml_type) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 8:
      return DType::kQ8_0;
    case 30:
      return DType::kBF16;
    default:
      in.Fail(
          fmt::format("tensor '{}' has ggml type {}, which is not supported (F32, F16, BF16 "
                      "and Q8_0 are)",
                      name, ggml_type));
  }
}

std::string_view TypeName(GgufValueType type) {
  static constexpr std::string_view kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                                "int32",  "float32", "bool",   "string", "array",
                                                "uint64", "int64",   "float64"};
  return kNames[static_cast<std::uint32_t>(type)];
}

}  // namespace

bool IsGgufFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<common::MappedFile>(path)) {
  ByteReader in(file_->bytes(), path);
  const auto magic = in.ReadBytes(4, "the magic number");
  if (std::string_view(reinterpret_cast<const char*>(magic.data()), 4) != "GGUF") {
    in.Fail("not a GGUF file: the magic number is not 'GGUF'");
  }
  version_ = in.Read<std::uint32_t>("the version");
  if (version_ != 2 && version_ != 3) {
    in.Fail(fmt::format("GGUF version {} is not supported (2 and 3 are)", version_));
  }
  const auto tensor_count = in.Read<std::uint64_t>("the tensor count");
  const auto kv_count = in.Read<std::uint64_t>("the metadata count");
  if (tensor_count > kMaxTensors)
    in.Fail(fmt::format("tensor count {} is implausible", tensor_count));
  if (kv_count > kMaxMetadata) in.Fail(fmt::format("metadata count {} is implausible", kv_count));

  for (std::uint64_t i = 0; i < kv_count; ++i) {
    std::string key = ReadString(in, "a metadata key");
    const GgufValueType type = ReadValueType(in, key);
    GgufValue value = ReadValue(in, type, key, 0);
    if (!metadata_.emplace(key, std::move(value)).second) {
      in.Fail(fmt::format("metadata key '{}' appears twice", key));
    }
  }

  std::set<std::string> names;
  tensors_.reserve(static_cast<std::size_t>(tensor_count));
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = ReadString(in, "a tensor name");
    if (!names.insert(t.name).second) in.Fail(fmt::format("tensor '{}' appears twice", t.name));
    const auto n_dims = in.Read<std::uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.Fail(
          fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", t.name, n_dims, kMaxDims));
    }
    t.elements = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto ne = in.Read<std::uint64_t>("a tensor dimension");
      if (ne == 0 || ne > (std::uint64_t{1} << 40) / t.elements) {
        in.Fail(fmt::format("tensor '{}' has an impossible dimension {}", t.name, ne));
      }
      t.elements *= ne;
      t.shape.push_back(ne);
    }
    t.dtype = ToDType(in.Read<std::uint32_t>("a tensor type"), in, t.name);
    const std::size_t block = DTypeBlockElements(t.dtype);
    if (t.shape[0] % block != 0) {
      in.Fail(
          fmt::format("tensor '{}' has a row of {} elements, not a multiple of the {} block "
                      "size {}",
                      t.name, t.shape[0], DTypeName(t.dtype), block));
    }
    t.size_bytes = t.elements / block * DTypeBlockBytes(t.dtype);
    t.offset = in.Read<std::uint64_t>("a tensor offset");
    tensors_.push_back(std::move(t));
  }

  std::uint64_t alignment = 32;
  if (Has("general.alignment")) {
    alignment = GetUint("general.alignment");
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 65536) {
      in.Fail(fmt::format("general.alignment {} is not a power of two up to 65536", alignment));
    }
  }
  const std::uint64_t data_start = (in.offset() + alignment - 1) / alignment * alignment;
  const std::uint64_t file_size = file_->size();
  for (auto& t : tensors_) {
    if (t.offset % alignment != 0) {
      Throw<FormatError>("'{}': tensor '{}' has offset {}, not a multiple of the alignment {}",
                         path, t.name, t.offset, alignment);
    }
    if (data_start > file_size || t.offset > file_size - data_start ||
        t.size_bytes > file_size - data_start - t.offset) {
      Throw<FormatError>(
          "'{}': tensor '{}' ({} bytes at data offset {}) reaches past the end of the file "
          "({} bytes); the file is truncated or corrupt",
          path, t.name, t.size_bytes, t.offset, file_size);
    }
    t.offset += data_start;
  }
}

const GgufValue& GgufFile::Get(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) Throw<FormatError>("'{}': metadata key '{}' is missing", path(), key);
  return it->second;
}

std::uint64_t GgufFile::GetUint(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (const auto* u = std::get_if<std::uint64_t>(&v.value)) return *u;
  if (const auto* s = std::get_if<std::int64_t>(&v.value); s != nullptr && *s >= 0) {
    return static_cast<std::uint64_t>(*s);
  }
  Throw<FormatError>("'{}': metadata '{}' should be a non-negative integer but is {}", path(), key,
                     TypeName(v.type));
}

double GgufFile::GetFloat(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (const auto* d = std::get_if<double>(&v.value)) return *d;
  Throw<FormatError>("'{}': metadata '{}' should be a float but is {}", path(), key,
                     TypeName(v.type));
}

bool GgufFile::GetBool(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b;
  Throw<FormatError>("'{}': metadata '{}' should be a bool but is {}", path(), key,
                     TypeName(v.type));
}

const std::string& GgufFile::GetString(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (const auto* s = std::get_if<std::string>(&v.value)) return *s;
  Throw<FormatError>("'{}': metadata '{}' should be a string but is {}", path(), key,
                     TypeName(v.type));
}

namespace {
template <class T, class Convert>
std::vector<T> ArrayOf(const GgufFile& file, const GgufValue& v, const std::string& key,
                       std::string_view wanted, Convert convert) {
  const auto* items = std::get_if<GgufArray>(&v.value);
  std::vector<T> out;
  if (items != nullptr) {
    out.reserve(items->size());
    for (const GgufValue& item : *items) {
      if (auto converted = convert(item)) {
        out.push_back(*converted);
      } else {
        items = nullptr;
        break;
      }
    }
  }
  if (items == nullptr) {
    Throw<FormatError>("'{}': metadata '{}' should be an array of {}", file.path(), key, wanted);
  }
  return out;
}
}  // namespace

std::vector<std::string> GgufFile::GetStringArray(const std::string& key) const {
  return ArrayOf<std::string>(*this, Get(key), key, "strings", [](const GgufValue& v) {
    const auto* s = std::get_if<std::string>(&v.value);
    return s ? std::optional<std::string>(*s) : std::nullopt;
  });
}

std::vector<double> GgufFile::GetFloatArray(const std::string& key) const {
  return ArrayOf<double>(*this, Get(key), key, "floats", [](const GgufValue& v) {
    const auto* d = std::get_if<double>(&v.value);
    return d ? std::optional<double>(*d) : std::nullopt;
  });
}

std::vector<std::int64_t> GgufFile::GetIntArray(const std::string& key) const {
  return ArrayOf<std::int64_t>(*this, Get(key), key, "integers", [](const GgufValue& v) {
    if (const auto* s = std::get_if<std::int64_t>(&v.value)) return std::optional<std::int64_t>(*s);
    const auto* u = std::get_if<std::uint64_t>(&v.value);
    if (u != nullptr &&
        *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(*u));
    }
    return std::optional<std::int64_t>();
  });
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::span<const std::uint8_t> GgufFile::TensorData(const GgufTensorInfo& info) const {
  return file_->bytes().subspan(static_cast<std::size_t>(info.offset),
                                static_cast<std::size_t>(info.size_bytes));
}

}  // namespace seer
