// Synthetic tables with planted patterns: the ground truth for recovery tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pdd {

struct PlantedPattern {
  std::string name;
  std::vector<std::pair<std::string, std::string>> avs;  // (attribute, value)
  double prevalence = 0;                                 // Target share of records.
  std::size_t records = 0;                               // Records actually given the pattern.
  std::string class_value;                               // The class value tied to it, or empty.
};

struct SynthOptions {
  std::size_t rows = 20000;
  std::uint64_t seed = 1;
  int noise_attributes = 6;  // Attributes that carry no pattern.
};

struct SynthTable {
  std::vector<std::string> header;
  std::vector<PlantedPattern> truth;
  std::string class_column;
  std::size_t rows = 0;
};

// Plants: a frequent pattern (~10%, tied to the rare class "yes" of an ~88:12 class), rare
// patterns of ~6% and ~3%, and two ~8% patterns that share one attribute (with different values);
// every attribute has 3 to 5 values; other cells are uniform. `row` is called first with the
// header, then with each record, so that any number of records can be streamed.
SynthTable Synthesize(const SynthOptions& options,
                      const std::function<void(const std::vector<std::string>&)>& row);

// Streams the table to `csv_path` and writes the truth as JSON to `truth_path`, each atomically.
SynthTable WriteSynth(const SynthOptions& options, const std::string& csv_path,
                      const std::string& truth_path);

}  // namespace pdd
