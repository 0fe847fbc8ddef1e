// A read-only memory map of a whole file; model weights are used straight from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace common {

class MappedFile {
 public:
  // Maps `path` read-only; throws IoError naming the path when it cannot.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Reads a whole file into a string; throws IoError naming the path when it cannot.
std::string ReadFile(const std::string& path);

}  // namespace common
