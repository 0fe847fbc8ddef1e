// The shared ending of every command-line program: user errors become one message and exit 1.
#pragma once

#include <functional>
#include <string_view>

namespace common {

// Runs `body` and returns 0, or prints "<program>: error: <what>" on stderr and returns 1 when it
// throws a common::Error or runs out of memory. Anything else is a bug and propagates.
int RunReportingErrors(std::string_view program, const std::function<void()>& body);

}  // namespace common
