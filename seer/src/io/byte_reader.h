// A bounds-checked little-endian cursor over a byte span; every read past the end throws
// common::FormatError naming the file, the offset and what was being read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace seer {

class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string file)
      : bytes_(bytes), file_(std::move(file)) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }
  const std::string& file() const { return file_; }

  template <class T>
  T Read(std::string_view what) {
    Require(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  std::span<const std::uint8_t> ReadBytes(std::size_t count, std::string_view what) {
    Require(count, what);
    auto out = bytes_.subspan(offset_, count);
    offset_ += count;
    return out;
  }

  void Require(std::size_t count, std::string_view what) const {
    if (count > remaining()) {
      common::Throw<common::FormatError>(
          "'{}': file is truncated: {} needs {} bytes at offset {} but only {} remain", file_, what,
          count, offset_, remaining());
    }
  }

  [[noreturn]] void Fail(std::string_view problem) const {
    common::Throw<common::FormatError>("'{}': {} (at offset {})", file_, problem, offset_);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::string file_;
  std::size_t offset_ = 0;
};

}  // namespace seer
