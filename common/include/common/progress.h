// A one-line progress report (done/total, rate, time left) for long jobs, drawn on stderr only
// when stderr is a terminal, so piped output stays clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace common {

class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit);
  ~Progress();

  // Records that `done` items of `total` are finished and redraws at most every 100 ms.
  void Update(std::int64_t done);
  // Clears the line.
  void Finish();

 private:
  std::string label_;
  std::string unit_;
  std::int64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace common
