#include "common/cli_main.h"

#include <fmt/format.h>

#include <cstdio>
#include <new>

#include "common/error.h"

namespace common {

int RunReportingErrors(std::string_view program, const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: error: out of memory\n", program);
  }
  return 1;
}

}  // namespace common
