// Groups, subgroups and high-order patterns of each kept space, linked to their records.
//
// In a kept space DS_k an AV takes part when it is in a significant pair (RSR_k > tau, different
// attributes) and its projection is at least `min_loading` times the largest magnitude at its end
// of the component (reconstructed: keeps the AVs that define an end, not the weak complements of
// a strong pattern's values). Group = sign of the projection (1: positive end, 2: negative end);
// subgroup = connected component of significant pairs inside a group; DSU[ds, group, subgroup].
// Inside a subgroup, patterns grow level-wise from significant pairs by adding AVs (of new
// attributes) significantly paired with every AV already in the pattern; a pattern is kept when
// its residual d (statistics.h) exceeds tau and it is productive: for every split into two parts,
// the parts occur together more often than independence allows (adjusted residual > tau), so that
// two unrelated patterns that happen to co-occur do not count as one. Candidates seen fewer than
// `min_count` times cannot be tested reliably and are pruned with everything that would grow
// from them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pdd/disentangle.h"
#include "pdd/encoding.h"

namespace pdd {

struct PatternOptions {
  double tau = 1.96;
  int max_order = 6;
  std::size_t min_count = 5;
  double min_loading = 0.5;
  bool maximal_only = true;     // Report only patterns not contained in a larger reported one.
  std::string class_attribute;  // Empty: no class.
};

struct Pattern {
  std::vector<int> avs;  // Sorted by AV code.
  std::size_t count = 0;
  double expected = 0;
  double residual = 0;            // d
  std::string class_association;  // "class=value (r=12.3)" or empty.
  Bitset records;
};

struct Dsu {
  int ds = 0;  // The space's rank, from 1.
  int group = 0;
  int subgroup = 0;
  std::vector<int> avs;
  std::vector<Pattern> patterns;
  std::optional<Pattern>
      union_pattern;  // All the subgroup's AVs, when they are of distinct attributes.
};

struct KnowledgeBase {
  std::vector<Dsu> dsus;
  std::size_t PatternCount() const;
};

// Builds the knowledge base. A pattern already reported in a higher-ranked space is not repeated.
KnowledgeBase BuildKnowledgeBase(const Encoded& encoded, const Disentanglement& spaces,
                                 const PatternOptions& options);

// Returns "attr=value & attr=value".
std::string PatternText(const Encoded& encoded, const std::vector<int>& avs);

}  // namespace pdd
