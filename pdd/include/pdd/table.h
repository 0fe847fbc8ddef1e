// Reading tables of records: CSV (RFC 4180), TSV and Weka ARFF, with type inference.
//
// Rows are parsed one at a time and each cell is turned into a compact code at once (a value's
// index in its column's dictionary, and a number for columns that may be numeric), so memory grows
// with rows x columns x a few bytes, not with the text.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pdd {

constexpr std::uint32_t kMissing = std::numeric_limits<std::uint32_t>::max();

enum class ColumnType { kCategorical, kNumeric };

struct Column {
  std::string name;
  ColumnType type = ColumnType::kCategorical;
  // Categorical: the distinct values in order of first appearance and each row's index (kMissing).
  std::vector<std::string> values;
  std::vector<std::uint32_t> codes;
  // Numeric: each row's value (NaN when missing).
  std::vector<double> numbers;
};

struct Table {
  std::string source;  // The file it came from.
  std::vector<Column> columns;
  std::size_t rows = 0;
  std::vector<std::string> warnings;

  // Returns the index of the column named `name`; throws InvalidArgument listing the columns.
  int ColumnIndex(const std::string& name) const;
};

struct ReadOptions {
  enum class Format { kAuto, kCsv, kTsv, kArff };
  Format format = Format::kAuto;  // Auto: by extension (.arff, .tsv/.tab), else CSV.
  std::set<std::string> missing = {"", "NA", "?"};
  std::set<std::string> categorical;  // Force these columns categorical.
  std::set<std::string> numeric;      // Force these columns numeric.
  std::set<std::string> ignore;       // Drop these columns.
  // A column whose values all parse as numbers is numeric when it has more distinct values than
  // this; otherwise its values are categories (codes like 1/2/3 stay categorical).
  std::size_t numeric_min_distinct = 10;
  // A categorical column with more distinct values than this is refused (an identifier?).
  std::size_t max_categories = 1000;
};

// Reads `path`; errors name the file, line and column (common::FormatError, IoError,
// InvalidArgument for options naming unknown columns).
Table ReadTable(const std::string& path, const ReadOptions& options = {});

}  // namespace pdd
