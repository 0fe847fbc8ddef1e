// CSV / TSV (RFC 4180 quoting) and ARFF readers feeding one column builder.
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "common/error.h"
#include "pdd/table.h"

namespace pdd {
namespace {

using common::FormatError;
using common::InvalidArgument;
using common::Throw;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool ParseNumber(std::string_view text, double& out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

// Accumulates one column's cells as codes and numbers while the file streams by.
class ColumnBuilder {
 public:
  ColumnBuilder(std::string name, bool force_categorical, bool force_numeric,
                std::size_t max_categories)
      : name_(std::move(name)),
        force_categorical_(force_categorical),
        force_numeric_(force_numeric),
        max_categories_(max_categories) {}

  // Adds one cell; `where` says "file:line" for errors.
  void Add(std::string_view cell, bool missing, const std::string& where) {
    if (missing) {
      if (keep_codes_) codes_.push_back(kMissing);
      if (numeric_possible_) numbers_.push_back(NAN);
      return;
    }
    if (numeric_possible_ && !force_categorical_) {
      double v;
      if (ParseNumber(cell, v)) {
        numbers_.push_back(v);
      } else if (force_numeric_) {
        Throw<FormatError>("{}: column '{}' is declared numeric but holds '{}'", where, name_,
                           cell);
      } else {
        numeric_possible_ = false;
        std::vector<double>().swap(numbers_);
      }
    }
    if (!keep_codes_) {
      if (!numeric_possible_) {
        Throw<FormatError>(
            "{}: column '{}' has more than {} distinct values and is not numeric; drop it with "
            "--ignore {}",
            where, name_, max_categories_, name_);
      }
      return;
    }
    auto it = dictionary_.find(cell);
    if (it == dictionary_.end()) {
      if (values_.size() >= max_categories_ && !force_categorical_) {
        if (!numeric_possible_) {
          Throw<FormatError>(
              "{}: column '{}' has more than {} distinct values; if it is an identifier drop it "
              "with "
              "--ignore {}",
              where, name_, max_categories_, name_);
        }
        keep_codes_ = false;  // Many distinct numbers: it is a numeric column.
        std::vector<std::uint32_t>().swap(codes_);
        dictionary_.clear();
        values_.clear();
        return;
      }
      it = dictionary_.emplace(std::string(cell), static_cast<std::uint32_t>(values_.size())).first;
      values_.emplace_back(cell);
    }
    codes_.push_back(it->second);
  }

  Column Finish(std::size_t numeric_min_distinct) {
    Column c;
    c.name = name_;
    const bool numeric = !force_categorical_ && numeric_possible_ &&
                         (force_numeric_ || !keep_codes_ || values_.size() > numeric_min_distinct);
    if (numeric) {
      c.type = ColumnType::kNumeric;
      c.numbers = std::move(numbers_);
    } else {
      c.type = ColumnType::kCategorical;
      c.values = std::move(values_);
      c.codes = std::move(codes_);
    }
    return c;
  }

 private:
  std::string name_;
  bool force_categorical_, force_numeric_;
  std::size_t max_categories_;
  bool numeric_possible_ = true;
  bool keep_codes_ = true;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> dictionary_;
  std::vector<std::string> values_;
  std::vector<std::uint32_t> codes_;
  std::vector<double> numbers_;
};

// Streams a delimited file record by record (RFC 4180: quotes, doubled quotes, separators and
// newlines inside quotes, CRLF), skipping a UTF-8 BOM and blank lines.
class DelimitedReader {
 public:
  DelimitedReader(const std::string& path, char separator)
      : path_(path), in_(path, std::ios::binary), sep_(separator) {
    if (!in_) Throw<common::IoError>("cannot open '{}': {}", path, std::strerror(errno));
    buffer_.resize(1 << 20);
  }

  // Reads the next record into `fields` (views into an internal buffer valid until the next call);
  // returns false at the end of the file. `line()` is the line the record started on.
  bool Next(std::vector<std::string_view>& fields) {
    fields.clear();
    record_.clear();
    ends_.clear();
    while (true) {
      int c = Get();
      if (c == EOF) return false;
      if (first_) {
        first_ = false;
        if (c == 0xEF && Peek() == 0xBB) {  // UTF-8 BOM.
          Get();
          if (Get() != 0xBF)
            Throw<FormatError>("'{}': line 1 starts with a broken UTF-8 byte order mark", path_);
          c = Get();
          if (c == EOF) return false;
        }
      }
      ++line_;
      record_line_ = line_;
      if (c == '\n') continue;  // Blank line.
      if (c == '\r' && Peek() == '\n') {
        Get();
        continue;
      }
      ReadRecord(c);
      break;
    }
    std::size_t begin = 0;
    for (std::size_t end : ends_) {
      fields.emplace_back(record_.data() + begin, end - begin);
      begin = end;
    }
    return true;
  }

  std::size_t line() const { return record_line_; }
  const std::vector<bool>& quoted() const { return quoted_; }

 private:
  int Get() {
    if (pos_ == size_) {
      in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      size_ = static_cast<std::size_t>(in_.gcount());
      pos_ = 0;
      if (size_ == 0) return EOF;
    }
    return static_cast<unsigned char>(buffer_[pos_++]);
  }
  int Peek() {
    const int c = Get();
    if (c != EOF) --pos_;
    return c;
  }

  void ReadRecord(int c) {
    quoted_.clear();
    bool in_quotes = false, was_quoted = false, field_start = true;
    std::size_t quote_line = 0, quote_column = 0, char_column = 1;
    while (true) {
      if (in_quotes) {
        if (c == EOF) {
          Throw<FormatError>(
              "'{}': line {}, column {}: the quoted field that starts here is never closed", path_,
              quote_line, quote_column);
        }
        if (c == '"') {
          if (Peek() == '"') {
            Get();
            record_.push_back('"');
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line_;
          record_.push_back(static_cast<char>(c));
        }
      } else if (c == '"' && field_start) {
        in_quotes = was_quoted = true;
        quote_line = line_;
        quote_column = char_column;
      } else if (c == sep_) {
        ends_.push_back(record_.size());
        quoted_.push_back(was_quoted);
        was_quoted = false;
        field_start = true;
        c = Get();
        ++char_column;
        continue;
      } else if (c == '\n' || c == EOF) {
        break;
      } else if (c == '\r' && (Peek() == '\n' || Peek() == EOF)) {
        // CRLF: the \n ends the record next.
      } else {
        if (was_quoted) {
          Throw<FormatError>(
              "'{}': line {}, column {}: text after a closing quote (a quote inside a field must "
              "be "
              "doubled)",
              path_, line_, char_column);
        }
        record_.push_back(static_cast<char>(c));
      }
      field_start = false;
      c = Get();
      ++char_column;
    }
    ends_.push_back(record_.size());
    quoted_.push_back(was_quoted);
  }

  std::string path_;
  std::ifstream in_;
  char sep_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, size_ = 0;
  bool first_ = true;
  std::size_t line_ = 0, record_line_ = 0;
  std::string record_;
  std::vector<std::size_t> ends_;
  std::vector<bool> quoted_;
};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && Lower(s.substr(s.size() - suffix.size())) == suffix;
}

// Checks the header and the column options, and makes one builder per kept column.
struct Layout {
  std::vector<int> builder_of_field;  // -1 for ignored columns.
  std::vector<ColumnBuilder> builders;
};

Layout MakeLayout(const std::string& path, const std::vector<std::string>& header,
                  const ReadOptions& o) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty())
      Throw<FormatError>("'{}': line 1: column {} has an empty name", path, i + 1);
    if (!seen.insert(header[i]).second) {
      Throw<FormatError>("'{}': line 1: the column name '{}' appears more than once (column {})",
                         path, header[i], i + 1);
    }
  }
  for (const auto* set : {&o.categorical, &o.numeric, &o.ignore}) {
    for (const auto& name : *set) {
      if (!seen.count(name)) {
        std::string names;
        for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
        Throw<InvalidArgument>("'{}' has no column '{}' (columns: {})", path, name, names);
      }
    }
  }
  Layout layout;
  for (const auto& name : header) {
    if (o.ignore.count(name)) {
      layout.builder_of_field.push_back(-1);
      continue;
    }
    layout.builder_of_field.push_back(static_cast<int>(layout.builders.size()));
    layout.builders.emplace_back(name, o.categorical.count(name) > 0, o.numeric.count(name) > 0,
                                 o.max_categories);
  }
  return layout;
}

Table Finish(const std::string& path, Layout& layout, std::size_t rows, const ReadOptions& o) {
  if (rows == 0) Throw<FormatError>("'{}' has a header but no records", path);
  Table t;
  t.source = path;
  t.rows = rows;
  for (auto& b : layout.builders) t.columns.push_back(b.Finish(o.numeric_min_distinct));
  return t;
}

Table ReadDelimited(const std::string& path, char separator, const ReadOptions& o) {
  DelimitedReader reader(path, separator);
  std::vector<std::string_view> fields;
  if (!reader.Next(fields))
    Throw<FormatError>("'{}' is empty: expected a header line with column names", path);
  std::vector<std::string> header;
  for (auto f : fields) header.push_back(Trim(f));
  Layout layout = MakeLayout(path, header, o);
  std::size_t rows = 0;
  while (reader.Next(fields)) {
    if (fields.size() != header.size()) {
      Throw<FormatError>("'{}': line {}: the row has {} fields but the header has {}", path,
                         reader.line(), fields.size(), header.size());
    }
    const std::string where = "'" + path + "': line " + std::to_string(reader.line());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const int b = layout.builder_of_field[i];
      if (b < 0) continue;
      const bool missing = !reader.quoted()[i] && o.missing.count(std::string(fields[i])) > 0;
      layout.builders[b].Add(fields[i], missing, where);
    }
    ++rows;
  }
  return Finish(path, layout, rows, o);
}

// Splits an ARFF data line at commas outside ' or " quotes and unquotes each value.
std::vector<std::pair<std::string, bool>> SplitArffRow(const std::string& line,
                                                       const std::string& where) {
  std::vector<std::pair<std::string, bool>> out;
  std::string cur;
  char quote = 0;
  bool was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\' && i + 1 < line.size())
        cur.push_back(line[++i]);
      else if (c == quote)
        quote = 0;
      else
        cur.push_back(c);
    } else if ((c == '\'' || c == '"') && Trim(cur).empty()) {
      quote = c;
      was_quoted = true;
      cur.clear();
    } else if (c == ',') {
      out.emplace_back(was_quoted ? cur : Trim(cur), was_quoted);
      cur.clear();
      was_quoted = false;
    } else {
      cur.push_back(c);
    }
  }
  if (quote) Throw<FormatError>("{}: a quoted value is never closed", where);
  out.emplace_back(was_quoted ? cur : Trim(cur), was_quoted);
  return out;
}

Table ReadArff(const std::string& path, ReadOptions o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Throw<common::IoError>("cannot open '{}': {}", path, std::strerror(errno));
  std::vector<std::string> names;
  std::string line;
  std::size_t line_no = 0;
  bool data = false;
  while (!data && std::getline(in, line)) {
    ++line_no;
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '%') continue;
    const std::string lower = Lower(t);
    if (lower.rfind("@relation", 0) == 0) continue;
    if (lower.rfind("@data", 0) == 0) {
      data = true;
      break;
    }
    if (lower.rfind("@attribute", 0) != 0) {
      Throw<FormatError>("'{}': line {}: expected @relation, @attribute or @data, found '{}'", path,
                         line_no, t);
    }
    std::string rest = Trim(t.substr(10));
    std::string name;
    if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"')) {
      const auto close = rest.find(rest[0], 1);
      if (close == std::string::npos)
        Throw<FormatError>("'{}': line {}: unterminated attribute name", path, line_no);
      name = rest.substr(1, close - 1);
      rest = Trim(rest.substr(close + 1));
    } else {
      const auto space = rest.find_first_of(" \t");
      if (space == std::string::npos)
        Throw<FormatError>("'{}': line {}: @attribute without a type", path, line_no);
      name = rest.substr(0, space);
      rest = Trim(rest.substr(space));
    }
    const std::string type = Lower(rest);
    if (type == "numeric" || type == "real" || type == "integer") {
      if (!o.categorical.count(name)) o.numeric.insert(name);
    } else if (!rest.empty() && rest[0] == '{') {
      if (!o.numeric.count(name)) o.categorical.insert(name);
    } else if (type != "string") {
      Throw<FormatError>(
          "'{}': line {}: attribute '{}' has type '{}' (numeric, nominal {{...}} and string are "
          "supported)",
          path, line_no, name, rest);
    }
    names.push_back(name);
  }
  if (names.empty()) Throw<FormatError>("'{}' is empty or has no @attribute lines", path);
  if (!data) Throw<FormatError>("'{}': no @data section", path);
  Layout layout = MakeLayout(path, names, o);
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '%') continue;
    const std::string where = "'" + path + "': line " + std::to_string(line_no);
    if (t[0] == '{') Throw<FormatError>("{}: sparse ARFF rows are not supported", where);
    const auto fields = SplitArffRow(t, where);
    if (fields.size() != names.size()) {
      Throw<FormatError>("{}: the row has {} values but {} attributes are declared", where,
                         fields.size(), names.size());
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const int b = layout.builder_of_field[i];
      if (b < 0) continue;
      const bool missing =
          !fields[i].second && (fields[i].first == "?" || o.missing.count(fields[i].first) > 0);
      layout.builders[b].Add(fields[i].first, missing, where);
    }
    ++rows;
  }
  return Finish(path, layout, rows, o);
}

}  // namespace

int Table::ColumnIndex(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c.name;
  Throw<InvalidArgument>("'{}' has no column '{}' (columns: {})", source, name, names);
}

Table ReadTable(const std::string& path, const ReadOptions& options) {
  ReadOptions::Format format = options.format;
  if (format == ReadOptions::Format::kAuto) {
    format = EndsWith(path, ".arff")                              ? ReadOptions::Format::kArff
             : (EndsWith(path, ".tsv") || EndsWith(path, ".tab")) ? ReadOptions::Format::kTsv
                                                                  : ReadOptions::Format::kCsv;
  }
  Table t = format == ReadOptions::Format::kArff
                ? ReadArff(path, options)
                : ReadDelimited(path, format == ReadOptions::Format::kTsv ? '\t' : ',', options);
  for (const Column& c : t.columns) {
    if (c.type == ColumnType::kCategorical && c.values.size() <= 1) {
      t.warnings.push_back(
          c.values.empty()
              ? fmt::format("column '{}' has no values; it is skipped", c.name)
              : fmt::format(
                    "column '{}' has one value only ('{}'); it carries no association and is "
                    "skipped",
                    c.name, c.values[0]));
    }
  }
  return t;
}

}  // namespace pdd
