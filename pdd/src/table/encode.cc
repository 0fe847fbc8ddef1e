// Discretisation of numeric columns and AV encoding with per-AV record bitsets.
#include <algorithm>
#include <bit>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "pdd/encoding.h"

namespace pdd {
namespace {

std::string FormatNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Returns equal-frequency cut points: values at the k-quantiles of the sorted data, deduplicated
// so that tied values stay in one bin (fewer bins when ties are heavy).
std::vector<double> EqualFrequencyCuts(std::vector<double> values, int bins) {
  std::sort(values.begin(), values.end());
  std::vector<double> cuts;
  const std::size_t n = values.size();
  for (int b = 1; b < bins; ++b) {
    const double cut = values[n * static_cast<std::size_t>(b) / static_cast<std::size_t>(bins)];
    if (cut > values.front() && (cuts.empty() || cut > cuts.back())) cuts.push_back(cut);
  }
  return cuts;
}

}  // namespace

std::size_t Bitset::Count() const {
  std::size_t n = 0;
  for (auto w : words_) n += static_cast<std::size_t>(std::popcount(w));
  return n;
}

std::size_t Bitset::CountAnd(const Bitset& other) const {
  std::size_t n = 0;
  const std::uint64_t* a = words_.data();
  const std::uint64_t* b = other.words_.data();
  for (std::size_t i = 0; i < words_.size(); ++i)
    n += static_cast<std::size_t>(std::popcount(a[i] & b[i]));
  return n;
}

Bitset Bitset::And(const Bitset& other) const {
  Bitset out(bits_);
  for (std::size_t i = 0; i < words_.size(); ++i) out.words_[i] = words_[i] & other.words_[i];
  return out;
}

int Encoded::Find(const std::string& attribute, const std::string& value) const {
  for (std::size_t i = 0; i < avs.size(); ++i) {
    if (attributes[avs[i].attribute] == attribute && avs[i].value == value)
      return static_cast<int>(i);
  }
  return -1;
}

std::map<std::string, std::vector<double>> ParseCuts(const std::string& text) {
  std::map<std::string, std::vector<double>> out;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ';')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      common::Throw<common::InvalidArgument>(
          "--cuts '{}': expected COLUMN=CUT,CUT,... (columns separated by ';')", item);
    }
    std::vector<double> cuts;
    std::stringstream values(item.substr(eq + 1));
    std::string v;
    while (std::getline(values, v, ',')) {
      try {
        std::size_t used = 0;
        cuts.push_back(std::stod(v, &used));
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        common::Throw<common::InvalidArgument>("--cuts '{}': '{}' is not a number", item, v);
      }
    }
    if (cuts.empty() || !std::is_sorted(cuts.begin(), cuts.end()) ||
        std::adjacent_find(cuts.begin(), cuts.end()) != cuts.end()) {
      common::Throw<common::InvalidArgument>("--cuts '{}': cut points must be increasing", item);
    }
    out[item.substr(0, eq)] = cuts;
  }
  return out;
}

Encoded Encode(const Table& table, const DiscretizeOptions& options) {
  if (options.bins < 2)
    common::Throw<common::InvalidArgument>("--bins must be at least 2, got {}", options.bins);
  for (const auto& [name, cuts] : options.cuts) {
    const int index = table.ColumnIndex(name);
    if (table.columns[index].type != ColumnType::kNumeric) {
      common::Throw<common::InvalidArgument>("--cuts names column '{}', which is not numeric",
                                             name);
    }
  }
  Encoded e;
  e.records = table.rows;
  for (const Column& col : table.columns) {
    // Per record: the column's value index (kMissing), and the value labels.
    std::vector<std::uint32_t> codes;
    std::vector<std::string> labels;
    if (col.type == ColumnType::kCategorical) {
      codes = col.codes;
      labels = col.values;
    } else {
      std::vector<double> present;
      for (double v : col.numbers) {
        if (!std::isnan(v)) present.push_back(v);
      }
      if (present.empty()) continue;
      auto it = options.cuts.find(col.name);
      const std::vector<double> cuts =
          it != options.cuts.end() ? it->second : EqualFrequencyCuts(present, options.bins);
      const auto [lo, hi] = std::minmax_element(present.begin(), present.end());
      for (std::size_t b = 0; b <= cuts.size(); ++b) {
        const std::string left = b == 0 ? FormatNumber(std::min(*lo, cuts.empty() ? *lo : cuts[0]))
                                        : FormatNumber(cuts[b - 1]);
        const std::string right =
            b == cuts.size() ? FormatNumber(std::max(*hi, cuts.empty() ? *hi : cuts.back())) + "]"
                             : FormatNumber(cuts[b]) + ")";
        labels.push_back("[" + left + "," + right);
      }
      codes.reserve(col.numbers.size());
      for (double v : col.numbers) {
        codes.push_back(std::isnan(v)
                            ? kMissing
                            : static_cast<std::uint32_t>(
                                  std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin()));
      }
    }
    // Only values that occur become AVs; a column with fewer than two is skipped.
    std::vector<std::size_t> occurrences(labels.size(), 0);
    for (auto c : codes) {
      if (c != kMissing) ++occurrences[c];
    }
    const auto used =
        std::count_if(occurrences.begin(), occurrences.end(), [](std::size_t n) { return n > 0; });
    if (used < 2) continue;
    const int attribute = static_cast<int>(e.attributes.size());
    e.attributes.push_back(col.name);
    e.avs_of_attribute.emplace_back();
    std::vector<int> av_of_code(labels.size(), -1);
    for (std::size_t v = 0; v < labels.size(); ++v) {
      if (occurrences[v] == 0) continue;
      av_of_code[v] = static_cast<int>(e.avs.size());
      e.avs_of_attribute.back().push_back(av_of_code[v]);
      e.avs.push_back({attribute, labels[v], col.name + "=" + labels[v]});
      e.records_of.emplace_back(table.rows);
      e.counts.push_back(occurrences[v]);
    }
    for (std::size_t r = 0; r < codes.size(); ++r) {
      if (codes[r] != kMissing) e.records_of[av_of_code[codes[r]]].Set(r);
    }
  }
  return e;
}

}  // namespace pdd
