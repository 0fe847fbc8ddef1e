// From a typed table to attribute-value (AV) items: numeric columns are discretised, every
// (attribute, value) pair gets a code, and each AV keeps the bitset of records that carry it
// (the "entity address table"), so that counts are popcounts of ANDs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pdd/table.h"

namespace pdd {

// A set of record ids as bits.
class Bitset {
 public:
  Bitset() = default;
  explicit Bitset(std::size_t bits) : bits_(bits), words_((bits + 63) / 64, 0) {}
  void Set(std::size_t i) { words_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  bool Test(std::size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  std::size_t Count() const;
  std::size_t CountAnd(const Bitset& other) const;
  Bitset And(const Bitset& other) const;
  std::size_t size() const { return bits_; }
  const std::vector<std::uint64_t>& words() const { return words_; }

 private:
  std::size_t bits_ = 0;
  std::vector<std::uint64_t> words_;
};

struct DiscretizeOptions {
  int bins = 3;                                     // Equal-frequency bins.
  std::map<std::string, std::vector<double>> cuts;  // Per column cut points (override).
};

struct AttributeValue {
  int attribute = 0;  // Index into Encoded::attributes.
  std::string value;  // "red", or "[30,50)" for a numeric bin.
  std::string label;  // "colour=red"
};

struct Encoded {
  std::size_t records = 0;
  std::vector<std::string> attributes;
  std::vector<AttributeValue> avs;
  std::vector<Bitset> records_of;   // Per AV.
  std::vector<std::size_t> counts;  // Per AV: Occ(a).
  std::vector<std::vector<int>> avs_of_attribute;

  // Returns the AV code of attribute=value, or -1.
  int Find(const std::string& attribute, const std::string& value) const;
};

// Discretises numeric columns and encodes every column of `table` that has at least two values.
Encoded Encode(const Table& table, const DiscretizeOptions& options);

// Parses "--cuts age=30,50;bmi=25,30" style text into the cuts map; throws InvalidArgument.
std::map<std::string, std::vector<double>> ParseCuts(const std::string& text);

}  // namespace pdd
