// Test support: runs a program as a user would and captures what it says.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "common/mapped_file.h"

namespace common::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the program did not exit normally.
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs `command` through the shell, with stderr sent to the file `stderr_path`.
inline CommandResult RunCommand(const std::string& command, const std::string& stderr_path) {
  FILE* pipe = popen((command + " 2>'" + stderr_path + "'").c_str(), "r");
  CommandResult result;
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadFile(stderr_path);
  return result;
}

}  // namespace common::testing
