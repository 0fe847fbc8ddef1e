#include "pdd/synth.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/atomic_file.h"
#include "common/error.h"

namespace pdd {

SynthTable Synthesize(const SynthOptions& o,
                      const std::function<void(const std::vector<std::string>&)>& emit) {
  if (o.rows < 100)
    common::Throw<common::InvalidArgument>("--rows must be at least 100, got {}", o.rows);
  if (o.noise_attributes < 0)
    common::Throw<common::InvalidArgument>("--noise must not be negative");
  std::mt19937_64 rng(o.seed);
  SynthTable t;
  t.class_column = "outcome";
  // Pattern-carrying attributes A01..A14 with 5 values; noise attributes with 3 to 5.
  std::vector<int> cardinality;
  for (int i = 1; i <= 14; ++i) {
    t.header.push_back(fmt::format("A{:02d}", i));
    cardinality.push_back(5);
  }
  for (int i = 1; i <= o.noise_attributes; ++i) {
    t.header.push_back(fmt::format("N{:02d}", i));
    cardinality.push_back(3 + (i - 1) % 3);
  }
  t.header.push_back(t.class_column);
  emit(t.header);
  t.truth = {
      {"frequent", {{"A01", "v1"}, {"A02", "v1"}, {"A03", "v1"}}, 0.10, 0, "yes"},
      {"rare6", {{"A04", "v2"}, {"A05", "v2"}, {"A06", "v2"}}, 0.06, 0, ""},
      {"rare3", {{"A07", "v3"}, {"A08", "v3"}, {"A09", "v3"}}, 0.03, 0, ""},
      {"overlap_a", {{"A10", "v1"}, {"A11", "v1"}, {"A12", "v1"}}, 0.08, 0, ""},
      {"overlap_b", {{"A12", "v2"}, {"A13", "v2"}, {"A14", "v2"}}, 0.08, 0, ""},
  };
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t r = 0; r < o.rows; ++r) {
    std::vector<std::string> row;
    for (int c : cardinality)
      row.push_back(fmt::format("v{}", 1 + static_cast<int>(unit(rng) * c) % c));
    // Patterns are planted independently of each other, except that the two sharing attribute
    // A12 exclude each other; a record may carry several.
    bool frequent = false, overlap_a = false;
    for (std::size_t p = 0; p < t.truth.size(); ++p) {
      if (unit(rng) >= t.truth[p].prevalence) continue;
      if (t.truth[p].name == "overlap_b" && overlap_a) continue;
      ++t.truth[p].records;
      frequent = frequent || p == 0;
      overlap_a = overlap_a || t.truth[p].name == "overlap_a";
      for (const auto& [attribute, value] : t.truth[p].avs) {
        row[static_cast<std::size_t>(std::stoi(attribute.substr(1)) - 1)] = value;
      }
    }
    // The class: "yes" for 90% of the frequent pattern's records, 3.5% of the others (~12%
    // overall).
    row.push_back(unit(rng) < (frequent ? 0.9 : 0.035) ? "yes" : "no");
    emit(row);
    ++t.rows;
  }
  return t;
}

SynthTable WriteSynth(const SynthOptions& o, const std::string& csv_path,
                      const std::string& truth_path) {
  SynthTable t;
  common::WriteAtomically(csv_path, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary);
    if (!out) common::Throw<common::IoError>("cannot create '{}'", temp);
    std::string line;
    t = Synthesize(o, [&](const std::vector<std::string>& row) {
      line.clear();
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (i) line += ',';
        line += row[i];
      }
      line += '\n';
      out << line;
    });
    out.close();
    if (!out) common::Throw<common::IoError>("cannot write '{}' (disk full?)", temp);
  });
  nlohmann::json truth = {
      {"rows", t.rows}, {"class_column", t.class_column}, {"patterns", nlohmann::json::array()}};
  for (const auto& p : t.truth) {
    nlohmann::json avs = nlohmann::json::array();
    for (const auto& [attribute, value] : p.avs)
      avs.push_back({{"attribute", attribute}, {"value", value}});
    truth["patterns"].push_back(
        {{"name", p.name},
         {"avs", avs},
         {"target_prevalence", p.prevalence},
         {"records", p.records},
         {"prevalence", static_cast<double>(p.records) / static_cast<double>(t.rows)},
         {"class_value", p.class_value}});
  }
  common::WriteFileAtomically(truth_path, truth.dump(2) + "\n");
  return t;
}

}  // namespace pdd
