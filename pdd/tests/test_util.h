// Small helpers for pdd tests: temporary files that vanish with the test process.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace pdd::test {

inline std::filesystem::path TempDir() {
  static const std::filesystem::path dir = [] {
    auto path =
        std::filesystem::temp_directory_path() / ("pdd_tests_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(
          std::filesystem::temp_directory_path() / ("pdd_tests_" + std::to_string(::getpid())),
          ignored);
    });
    return path;
  }();
  return dir;
}

// Writes `text` to a new file named `name` in the temporary folder and returns its path.
inline std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = (TempDir() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace pdd::test
