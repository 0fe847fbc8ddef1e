#include "common/shared_dir.h"

#include <cstdlib>
#include <filesystem>

#include "common/error.h"

namespace common {

std::string SharedDir() {
  const char* env = std::getenv("SHARED_DIR");
  return (env != nullptr && *env != '\0') ? std::string(env)
                                          : std::string(PROJECT_DEFAULT_SHARED_DIR);
}

std::string SharedFile(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(SharedDir()) / relative;
  if (!std::filesystem::exists(path)) {
    Throw<IoError>(
        "shared file '{}' not found: looked at '{}' (set SHARED_DIR to the shared data directory)",
        relative, path.string());
  }
  return path.lexically_normal().string();
}

}  // namespace common
