#include "pdd/knowledge_base.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "common/error.h"
#include "pdd/statistics.h"

namespace pdd {
namespace {

struct Miner {
  const Encoded& e;
  const PatternOptions& o;
  int class_attribute;  // -1 when none.

  Pattern Evaluate(const std::vector<int>& avs, Bitset records) const {
    Pattern p;
    p.avs = avs;
    p.count = records.Count();
    std::vector<double> probabilities;
    for (int a : avs)
      probabilities.push_back(static_cast<double>(e.counts[a]) / static_cast<double>(e.records));
    std::tie(p.expected, p.residual) = PatternResidual(static_cast<double>(p.count), probabilities,
                                                       static_cast<double>(e.records));
    p.records = std::move(records);
    return p;
  }

  // A pattern is productive when, for every split into two non-empty parts X and Y, its count
  // exceeds what X and Y would give together if independent (adjusted residual > tau). Two
  // unrelated patterns that happen to co-occur are not one pattern.
  bool Productive(const Pattern& p) const {
    const std::size_t k = p.avs.size();
    if (k < 3) return true;  // For a pair the split test is the pair's own residual.
    const double n = static_cast<double>(e.records);
    for (std::uint32_t mask = 1; mask < (1u << (k - 1)); ++mask) {  // Subsets without the last AV.
      std::vector<int> x, y;
      for (std::size_t i = 0; i < k; ++i) ((mask >> i) & 1 ? x : y).push_back(p.avs[i]);
      const double nx = static_cast<double>(RecordsOf(x).Count()),
                   ny = static_cast<double>(RecordsOf(y).Count());
      if (Residual(static_cast<double>(p.count), nx, ny, n, ResidualKind::kAdjusted) <= o.tau)
        return false;
    }
    return true;
  }

  Bitset RecordsOf(const std::vector<int>& avs) const {
    Bitset r = e.records_of[avs[0]];
    for (std::size_t i = 1; i < avs.size(); ++i) r = r.And(e.records_of[avs[i]]);
    return r;
  }

  // Level-wise search inside one subgroup; `edge(a, b)` says the pair is significant in the space.
  std::vector<Pattern> Mine(const std::vector<int>& members,
                            const std::function<bool(int, int)>& edge) const {
    std::vector<Pattern> significant, level;
    for (std::size_t i = 0; i < members.size(); ++i) {
      for (std::size_t j = i + 1; j < members.size(); ++j) {
        const int a = std::min(members[i], members[j]), b = std::max(members[i], members[j]);
        if (!edge(a, b)) continue;
        Bitset r = e.records_of[a].And(e.records_of[b]);
        if (r.Count() < o.min_count) continue;
        Pattern p = Evaluate({a, b}, std::move(r));
        if (p.residual > o.tau) level.push_back(std::move(p));
      }
    }
    for (int order = 2; !level.empty(); ++order) {
      std::vector<Pattern> next;
      std::set<std::vector<int>> seen;
      if (order < o.max_order) {
        for (const Pattern& p : level) {
          for (int c : members) {
            if (c <= p.avs.back()) continue;  // Grow in code order: each set is built once.
            bool ok = true;
            for (int a : p.avs)
              ok = ok && e.avs[a].attribute != e.avs[c].attribute &&
                   edge(std::min(a, c), std::max(a, c));
            if (!ok) continue;
            std::vector<int> avs = p.avs;
            avs.push_back(c);
            if (!seen.insert(avs).second) continue;
            Bitset r = p.records.And(e.records_of[c]);
            if (r.Count() < o.min_count) continue;
            Pattern q = Evaluate(avs, std::move(r));
            if (q.residual > o.tau && Productive(q)) next.push_back(std::move(q));
          }
        }
      }
      for (Pattern& p : level) significant.push_back(std::move(p));
      level = std::move(next);
    }
    if (!o.maximal_only) return significant;
    std::vector<Pattern> maximal;
    for (std::size_t i = 0; i < significant.size(); ++i) {
      bool contained = false;
      for (std::size_t j = 0; j < significant.size() && !contained; ++j) {
        contained = j != i && significant[j].avs.size() > significant[i].avs.size() &&
                    std::includes(significant[j].avs.begin(), significant[j].avs.end(),
                                  significant[i].avs.begin(), significant[i].avs.end());
      }
      if (!contained) maximal.push_back(std::move(significant[i]));
    }
    return maximal;
  }

  // Names the class value most associated with the pattern's other AVs.
  void AssociateClass(Pattern& p) const {
    if (class_attribute < 0) return;
    std::vector<int> features;
    int own_class = -1;
    for (int a : p.avs) {
      if (e.avs[a].attribute == class_attribute) {
        own_class = a;
      } else {
        features.push_back(a);
      }
    }
    if (features.empty()) return;
    const Bitset records = RecordsOf(features);
    const double n = static_cast<double>(records.Count());
    int best = -1;
    double best_r = -1e300;
    for (int c : e.avs_of_attribute[class_attribute]) {
      const double r = Residual(static_cast<double>(records.CountAnd(e.records_of[c])), n,
                                static_cast<double>(e.counts[c]), static_cast<double>(e.records),
                                ResidualKind::kAdjusted);
      if (own_class == c || (own_class < 0 && r > best_r)) {
        best = c;
        best_r = r;
        if (own_class == c) break;
      }
    }
    if (best >= 0 && (own_class >= 0 || best_r > o.tau)) {
      char text[64];
      std::snprintf(text, sizeof text, " (r=%.2f)", best_r);
      p.class_association = e.avs[best].label + text;
    }
  }
};

}  // namespace

std::size_t KnowledgeBase::PatternCount() const {
  std::size_t n = 0;
  for (const auto& d : dsus) n += d.patterns.size();
  return n;
}

std::string PatternText(const Encoded& e, const std::vector<int>& avs) {
  std::string text;
  for (int a : avs) text += (text.empty() ? "" : " & ") + e.avs[a].label;
  return text;
}

KnowledgeBase BuildKnowledgeBase(const Encoded& e, const Disentanglement& spaces,
                                 const PatternOptions& o) {
  int class_attribute = -1;
  if (!o.class_attribute.empty()) {
    for (std::size_t i = 0; i < e.attributes.size(); ++i) {
      if (e.attributes[i] == o.class_attribute) class_attribute = static_cast<int>(i);
    }
    if (class_attribute < 0) {
      common::Throw<common::InvalidArgument>(
          "class column '{}' has fewer than two values and cannot be used", o.class_attribute);
    }
  }
  const Miner miner{e, o, class_attribute};
  KnowledgeBase kb;
  std::set<std::vector<int>> reported;
  const int n = static_cast<int>(e.avs.size());
  for (const Space& s : spaces.spaces) {
    if (!s.kept) continue;
    auto edge = [&](int a, int b) {
      return e.avs[a].attribute != e.avs[b].attribute &&
             std::max(s.rsr(a, b), s.rsr(b, a)) > spaces.tau;
    };
    std::vector<char> in_pair(static_cast<std::size_t>(n), 0);
    for (int a = 0; a < n; ++a) {
      for (int b = a + 1; b < n; ++b) {
        if (edge(a, b)) in_pair[a] = in_pair[b] = 1;
      }
    }
    for (int group = 1; group <= 2; ++group) {
      auto at_this_end = [&](int a) {
        return group == 1 ? s.projection(a) > 0 : s.projection(a) < 0;
      };
      double strongest = 0;
      for (int a = 0; a < n; ++a) {
        if (in_pair[a] && at_this_end(a))
          strongest = std::max(strongest, std::fabs(s.projection(a)));
      }
      std::vector<int> members;
      for (int a = 0; a < n; ++a) {
        if (in_pair[a] && at_this_end(a) && std::fabs(s.projection(a)) >= o.min_loading * strongest)
          members.push_back(a);
      }
      // Subgroups: connected components of significant pairs among the members.
      std::vector<int> component(members.size(), -1);
      std::vector<std::vector<int>> subgroups;
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (component[i] >= 0) continue;
        std::vector<std::size_t> stack = {i};
        component[i] = static_cast<int>(subgroups.size());
        std::vector<int> avs;
        while (!stack.empty()) {
          const std::size_t x = stack.back();
          stack.pop_back();
          avs.push_back(members[x]);
          for (std::size_t y = 0; y < members.size(); ++y) {
            if (component[y] < 0 &&
                edge(std::min(members[x], members[y]), std::max(members[x], members[y]))) {
              component[y] = component[i];
              stack.push_back(y);
            }
          }
        }
        std::sort(avs.begin(), avs.end());
        if (avs.size() >= 2) subgroups.push_back(std::move(avs));
      }
      std::stable_sort(subgroups.begin(), subgroups.end(),
                       [](auto& a, auto& b) { return a.size() > b.size(); });
      for (std::size_t g = 0; g < subgroups.size(); ++g) {
        Dsu dsu;
        dsu.ds = s.component + 1;
        dsu.group = group;
        dsu.subgroup = static_cast<int>(g) + 1;
        dsu.avs = subgroups[g];
        for (Pattern& p : miner.Mine(dsu.avs, edge)) {
          if (!reported.insert(p.avs).second) continue;
          miner.AssociateClass(p);
          dsu.patterns.push_back(std::move(p));
        }
        std::set<int> attributes;
        for (int a : dsu.avs) attributes.insert(e.avs[a].attribute);
        if (attributes.size() == dsu.avs.size()) {
          dsu.union_pattern = miner.Evaluate(dsu.avs, miner.RecordsOf(dsu.avs));
          miner.AssociateClass(*dsu.union_pattern);
        }
        std::sort(dsu.patterns.begin(), dsu.patterns.end(),
                  [](auto& a, auto& b) { return a.residual > b.residual; });
        kb.dsus.push_back(std::move(dsu));
      }
    }
  }
  return kb;
}

}  // namespace pdd
