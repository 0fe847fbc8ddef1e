// Writes output files so that a reader never sees a half-written one: data goes to a temporary
// file beside the target, which is renamed over it only when complete.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace common {

// Calls `write(temp_path)` to produce the file, then renames it to `path`. On any error the
// temporary file is removed and the error propagates (IoError when the rename fails).
void WriteAtomically(const std::string& path,
                     const std::function<void(const std::string& temp_path)>& write);

// Writes `bytes` to `path` atomically.
void WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace common
