// Typed errors that every layer throws and the CLIs turn into one message and a non-zero exit.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace common {

// Base of every error a user can cause; what() is a complete, actionable sentence.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file cannot be opened, mapped or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A file exists but its contents are malformed, truncated or out of range.
class FormatError : public Error {
 public:
  using Error::Error;
};

// An argument or option has a value the program cannot use.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

template <class E, class... Args>
[[noreturn]] void Throw(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace common
