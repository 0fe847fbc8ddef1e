// `pdd bench`: end-to-end and stage timings against plain baselines measured in the same run.
#pragma once

#include <cstddef>
#include <string>

namespace pdd::cli {

struct BenchOptions {
  std::string mushroom;        // Path of the Mushroom CSV.
  std::size_t rows = 1000000;  // Synthetic records.
  int noise = 16;              // Synthetic noise attributes (14 carry patterns): 30 in all.
  int repeats = 3;
  bool json = false;
};

void Bench(const BenchOptions& options);

}  // namespace pdd::cli
