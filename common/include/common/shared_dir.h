// Locates files in the project's shared data directory (models, texts, data sets).
#pragma once

#include <string>

namespace common {

// Returns the shared data directory: $SHARED_DIR if set, else ../shared beside the source root.
std::string SharedDir();

// Returns SharedDir()/relative; throws IoError saying where it looked when the file is missing.
std::string SharedFile(const std::string& relative);

}  // namespace common
