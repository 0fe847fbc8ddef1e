#include "common/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace common {

void WriteAtomically(const std::string& path,
                     const std::function<void(const std::string&)>& write) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    Throw<IoError>("cannot write '{}': directory '{}' does not exist", path, parent.string());
  }
  const std::string temp = path + ".tmp" + std::to_string(::getpid());
  try {
    write(temp);
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
      Throw<IoError>("cannot write '{}': {}", path, std::strerror(errno));
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
}

void WriteFileAtomically(const std::string& path, std::string_view bytes) {
  WriteAtomically(path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) Throw<IoError>("cannot create '{}': {}", temp, std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) Throw<IoError>("cannot write '{}' (disk full?)", temp);
  });
}

}  // namespace common
