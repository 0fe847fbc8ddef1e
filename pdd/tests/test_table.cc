// Reading tables: RFC 4180 edge cases, TSV, ARFF, typing, discretisation, and the errors users
// cause.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "pdd/encoding.h"
#include "pdd/table.h"
#include "test_util.h"

namespace pdd {
namespace {

using test::WriteTemp;

std::vector<std::string> Values(const Table& t, const std::string& column) {
  const Column& c = t.columns[t.ColumnIndex(column)];
  std::vector<std::string> out;
  for (auto code : c.codes) out.push_back(code == kMissing ? "<missing>" : c.values[code]);
  return out;
}

struct CsvCase {
  std::string name, text;
  std::vector<std::string> column_b;  // The values read in column "b".
};

TEST(Csv, EdgeCasesReadAsRfc4180Says) {
  const CsvCase cases[] = {
      {"plain", "a,b\n1,x\n2,y\n", {"x", "y"}},
      {"quoted", "a,b\n1,\"x\"\n2,\"y z\"\n", {"x", "y z"}},
      {"doubled quotes", "a,b\n1,\"say \"\"hi\"\"\"\n", {"say \"hi\""}},
      {"separator inside quotes", "a,b\n1,\"x,y\"\n", {"x,y"}},
      {"newline inside quotes", "a,b\n1,\"two\nlines\"\n2,z\n", {"two\nlines", "z"}},
      {"CRLF", "a,b\r\n1,x\r\n2,y\r\n", {"x", "y"}},
      {"CRLF inside quotes kept", "a,b\r\n1,\"p\r\nq\"\r\n", {"p\r\nq"}},
      {"UTF-8 BOM",
       "\xEF\xBB\xBF"
       "a,b\n1,x\n",
       {"x"}},
      {"no final newline", "a,b\n1,x\n2,y", {"x", "y"}},
      {"blank lines skipped", "a,b\n\n1,x\n\n2,y\n\n", {"x", "y"}},
      {"missing tokens",
       "a,b\n1,\n2,NA\n3,?\n4,\"NA\"\n",
       {"<missing>", "<missing>", "<missing>", "NA"}},
      {"empty quoted is a value", "a,b\n1,\"\"\n2,x\n", {"", "x"}},
      {"UTF-8 values", "a,b\n1,caf\xC3\xA9\n", {"caf\xC3\xA9"}},
  };
  for (const auto& c : cases) {
    const Table t = ReadTable(WriteTemp("case.csv", c.text));
    EXPECT_EQ(Values(t, "b"), c.column_b) << c.name;
    EXPECT_EQ(t.columns[0].name, "a") << c.name;
  }
}

TEST(Csv, TsvAndTypeInference) {
  const Table t = ReadTable(
      WriteTemp("t.tsv",
                "id\tage\tcode\tcolour\n"
                "1\t23.5\t1\tred\n2\t31\t2\tblue\n3\t\t1\tred\n4\t45\t3\tgreen\n5\t52\t2\tred\n"
                "6\t61\t1\tblue\n7\t19\t2\tred\n8\t38\t3\tred\n9\t44\t1\tblue\n10\t70\t2\tred\n"
                "11\t29\t1\tred\n12\t33\t3\tblue\n"));
  EXPECT_EQ(t.rows, 12u);
  EXPECT_EQ(t.columns[t.ColumnIndex("age")].type, ColumnType::kNumeric);  // 11 distinct numbers.
  EXPECT_TRUE(std::isnan(t.columns[t.ColumnIndex("age")].numbers[2]));
  EXPECT_EQ(t.columns[t.ColumnIndex("code")].type,
            ColumnType::kCategorical);  // Codes 1/2/3 stay categories.
  EXPECT_EQ(t.columns[t.ColumnIndex("colour")].type, ColumnType::kCategorical);

  ReadOptions o;
  o.numeric = {"code"};
  o.categorical = {"age"};
  o.ignore = {"id"};
  const Table forced = ReadTable(WriteTemp("t2.tsv", "id\tage\tcode\n1\t20\t1\n2\t30\t2\n"), o);
  EXPECT_EQ(forced.columns.size(), 2u);
  EXPECT_EQ(forced.columns[forced.ColumnIndex("code")].type, ColumnType::kNumeric);
  EXPECT_EQ(forced.columns[forced.ColumnIndex("age")].type, ColumnType::kCategorical);
}

TEST(Arff, NominalNumericAndMissing) {
  const Table t =
      ReadTable(WriteTemp("w.arff",
                          "% comment\n@relation weather\n\n@attribute outlook {sunny, overcast}\n"
                          "@attribute temp numeric\n@attribute 'play it' {yes,no}\n@data\n"
                          "sunny,85,no\n% a comment row\novercast,?,yes\n'sunny', 70 ,yes\n"));
  EXPECT_EQ(t.rows, 3u);
  EXPECT_EQ(Values(t, "outlook"), (std::vector<std::string>{"sunny", "overcast", "sunny"}));
  EXPECT_EQ(t.columns[1].type, ColumnType::kNumeric);
  EXPECT_TRUE(std::isnan(t.columns[1].numbers[1]));
  EXPECT_EQ(t.columns[1].numbers[2], 70.0);
  EXPECT_EQ(Values(t, "play it"), (std::vector<std::string>{"no", "yes", "yes"}));
}

// Expects reading `text` (as `name`) to throw E with every fragment in its message.
template <class E>
void ExpectError(const std::string& name, const std::string& text,
                 std::vector<std::string> fragments, const ReadOptions& o = {}) {
  const std::string path = WriteTemp(name, text);
  try {
    ReadTable(path, o);
    ADD_FAILURE() << name << ": no error";
  } catch (const E& e) {
    fragments.push_back(path);
    for (const auto& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(Csv, UserErrorsNameTheFileLineAndColumn) {
  ExpectError<common::FormatError>("ragged.csv", "a,b\n1,x\n2,y,z\n",
                                   {"line 3", "3 fields", "header has 2"});
  ExpectError<common::FormatError>("quote.csv", "a,b\n1,x\n2,\"open\n3,y\n",
                                   {"line 3, column 3", "never closed"});
  ExpectError<common::FormatError>("empty.csv", "", {"is empty"});
  ExpectError<common::FormatError>("header-only.csv", "a,b\n", {"no records"});
  ExpectError<common::FormatError>("dup.csv", "a,b,a\n1,2,3\n",
                                   {"line 1", "'a' appears more than once"});
  ExpectError<common::FormatError>("stray.csv", "a,b\n1,\"x\"y\n",
                                   {"line 2", "after a closing quote"});
  ExpectError<common::FormatError>("notnum.csv", "a,b\n1,x\n",
                                   {"line 2", "declared numeric", "'x'"},
                                   ReadOptions{.numeric = {"b"}});
  ExpectError<common::InvalidArgument>("cols.csv", "a,b\n1,x\n",
                                       {"no column 'zzz'", "columns: a, b"},
                                       ReadOptions{.ignore = {"zzz"}});
  ExpectError<common::FormatError>("ids.csv", "id,b\nk1,x\nk2,y\nk3,z\n",
                                   {"more than 2 distinct", "--ignore id"},
                                   ReadOptions{.max_categories = 2});
  ExpectError<common::FormatError>("bad.arff", "@relation r\n@attribute a {x,y}\n@data\nx,y\n",
                                   {"line 4", "2 values"});
  EXPECT_THROW(ReadTable((test::TempDir() / "does-not-exist.csv").string()), common::IoError);
}

TEST(Csv, SingleValuedColumnIsAWarningAndIsSkipped) {
  const Table t = ReadTable(WriteTemp("single.csv", "a,b,c\n1,x,k\n2,y,k\n"));
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("'c' has one value only ('k')"), std::string::npos);
  const Encoded e = Encode(t, {});
  for (const auto& name : e.attributes) EXPECT_NE(name, "c");
}

TEST(Discretize, EqualFrequencyKeepsTiesInOneBinAndCutsAreLabelled) {
  // 12 values, 3 bins: the quantile cuts fall on 3 (position 4) and 7 (position 8); the tied 3s
  // all go to the middle bin.
  std::string csv = "x,y\n";
  for (int v : {1, 1, 2, 3, 3, 3, 3, 5, 7, 8, 9, 9}) csv += std::to_string(v) + ",a\n";
  ReadOptions o;
  o.numeric = {"x"};
  const Table t = ReadTable(WriteTemp("bins.csv", csv), o);
  const Encoded e = Encode(t, {.bins = 3});
  std::vector<std::string> labels;
  std::vector<std::size_t> counts;
  for (int a : e.avs_of_attribute[0]) {
    labels.push_back(e.avs[a].label);
    counts.push_back(e.counts[a]);
  }
  EXPECT_EQ(labels, (std::vector<std::string>{"x=[1,3)", "x=[3,7)", "x=[7,9]"}));
  EXPECT_EQ(counts, (std::vector<std::size_t>{3, 5, 4}));

  const Encoded cut = Encode(t, {.cuts = ParseCuts("x=2.5,8")});
  labels.clear();
  for (int a : cut.avs_of_attribute[0]) labels.push_back(cut.avs[a].label);
  EXPECT_EQ(labels, (std::vector<std::string>{"x=[1,2.5)", "x=[2.5,8)", "x=[8,9]"}));
  EXPECT_THROW(ParseCuts("x=5,2"), common::InvalidArgument);
  EXPECT_THROW(ParseCuts("x=a"), common::InvalidArgument);
  EXPECT_THROW(Encode(t, {.cuts = ParseCuts("y=1")}),
               common::InvalidArgument);  // y is not numeric.
}

}  // namespace
}  // namespace pdd
