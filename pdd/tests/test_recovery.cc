// The method against planted truth (synthetic data) and against well-known facts (Mushroom).
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/shared_dir.h"
#include "pdd/mine.h"
#include "pdd/synth.h"
#include "test_util.h"

namespace pdd {
namespace {

std::string WriteSynthCsv(std::uint64_t seed, SynthTable& table) {
  SynthOptions o;
  o.rows = 20000;
  o.seed = seed;
  const std::string csv = (test::TempDir() / ("synth" + std::to_string(seed) + ".csv")).string();
  table =
      WriteSynth(o, csv, (test::TempDir() / ("truth" + std::to_string(seed) + ".json")).string());
  return csv;
}

// The AV labels of a pattern without the class AV.
std::set<std::string> FeatureLabels(const Encoded& e, const std::vector<int>& avs,
                                    const std::string& class_column) {
  std::set<std::string> out;
  for (int a : avs) {
    if (e.attributes[e.avs[a].attribute] != class_column) out.insert(e.avs[a].label);
  }
  return out;
}

class PlantedPatterns : public testing::TestWithParam<int> {};

TEST_P(PlantedPatterns, AreRecoveredExactlyAndSuccinctly) {
  SynthTable table;
  const std::string csv = WriteSynthCsv(static_cast<std::uint64_t>(GetParam()), table);
  MineOptions o;
  o.class_column = table.class_column;
  const MineResult r = Mine(csv, o);
  for (const PlantedPattern& planted : table.truth) {
    std::set<std::string> want;
    for (const auto& [attribute, value] : planted.avs) want.insert(attribute + "=" + value);
    bool found = false, tied_class_ok = true;
    for (const Dsu& d : r.kb.dsus) {
      std::vector<const Pattern*> candidates;
      for (const Pattern& p : d.patterns) candidates.push_back(&p);
      if (d.union_pattern) candidates.push_back(&*d.union_pattern);
      for (const Pattern* p : candidates) {
        if (FeatureLabels(r.encoded, p->avs, o.class_column) != want) continue;
        found = true;
        // A class AV inside the pattern must be the one the truth ties to it.
        if (p->avs.size() > want.size()) {
          tied_class_ok =
              !planted.class_value.empty() &&
              p->class_association.rfind(o.class_column + "=" + planted.class_value, 0) == 0;
        }
      }
    }
    const double prevalence =
        static_cast<double>(planted.records) / static_cast<double>(table.rows);
    if (prevalence >= 0.05) {
      EXPECT_TRUE(found) << planted.name << " (prevalence " << prevalence
                         << ") not recovered, seed " << GetParam();
      EXPECT_TRUE(tied_class_ok) << planted.name;
    } else if (!found) {
      // A rare pattern must at least show in a kept space's pairs or among the uncovered pairs.
      bool in_pairs = false;
      for (const auto& [a, b] : r.spaces.uncovered) {
        in_pairs =
            in_pairs || (want.count(r.encoded.avs[a].label) && want.count(r.encoded.avs[b].label));
      }
      for (const Dsu& d : r.kb.dsus) {
        std::set<std::string> labels;
        for (int a : d.avs) labels.insert(r.encoded.avs[a].label);
        in_pairs =
            in_pairs || std::includes(labels.begin(), labels.end(), want.begin(), want.end());
      }
      EXPECT_TRUE(in_pairs) << planted.name << " is nowhere, seed " << GetParam();
    }
  }
  EXPECT_LE(r.kb.PatternCount(), 3 * table.truth.size()) << "seed " << GetParam();
  std::printf("seed %d: %zu patterns for %zu planted\n", GetParam(), r.kb.PatternCount(),
              table.truth.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PlantedPatterns, testing::Values(1, 2, 3, 4, 5));

TEST(Mushroom, OdorIsTiedToTheClassWithResidualsShown) {
  MineOptions o;
  o.class_column = "class";
  const MineResult r = Mine(common::SharedFile("datasets/cba_Mushroom.csv"), o);
  EXPECT_EQ(r.encoded.records, 8124u);
  // Among the reported patterns, odor=none goes with edible and odor=foul with poisonous.
  auto find = [&](const std::string& odor, const std::string& klass) -> const Pattern* {
    for (const Dsu& d : r.kb.dsus) {
      for (const Pattern& p : d.patterns) {
        const std::string text = PatternText(r.encoded, p.avs);
        if (text.find(odor) != std::string::npos && p.class_association.rfind(klass, 0) == 0)
          return &p;
      }
    }
    return nullptr;
  };
  const Pattern* none = find("odor=none", "class=edible (r=");
  const Pattern* foul = find("odor=foul", "class=poisonous (r=");
  ASSERT_NE(none, nullptr);
  ASSERT_NE(foul, nullptr);
  EXPECT_GT(none->residual, 1.96);
  EXPECT_GT(foul->residual, 1.96);
  // The raw residuals behind them.
  const int n = r.encoded.Find("odor", "none"), e = r.encoded.Find("class", "edible");
  const int f = r.encoded.Find("odor", "foul"), p = r.encoded.Find("class", "poisonous");
  EXPECT_GT(r.sr(n, e), 30.0);
  EXPECT_GT(r.sr(f, p), 30.0);
}

}  // namespace
}  // namespace pdd
