#include "pdd/mine.h"

#include <chrono>

#include "common/error.h"

namespace pdd {
namespace {

double Since(std::chrono::steady_clock::time_point& start) {
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - start).count();
  start = now;
  return s;
}

}  // namespace

MineResult Mine(const std::string& path, const MineOptions& o) {
  if (!(o.tau > 0)) common::Throw<common::InvalidArgument>("--tau must be positive, got {}", o.tau);
  if (o.patterns.max_order < 2)
    common::Throw<common::InvalidArgument>("--max-order must be at least 2");
  MineResult r;
  r.source = path;
  auto clock = std::chrono::steady_clock::now();
  Table table = ReadTable(path, o.read);
  if (!o.class_column.empty())
    table.ColumnIndex(o.class_column);  // Unknown class column: clear error.
  r.warnings = table.warnings;
  r.seconds.read = Since(clock);
  r.encoded = Encode(table, o.discretize);
  table = Table();  // The codes are in the bitsets now.
  if (r.encoded.attributes.size() < 2) {
    common::Throw<common::InvalidArgument>(
        "'{}' has fewer than two usable columns; nothing can be associated", path);
  }
  r.seconds.encode = Since(clock);
  const PairCounts counts = CountPairs(r.encoded);
  r.seconds.count = Since(clock);
  r.sr = ResidualMatrix(r.encoded, counts, o.residual);
  r.tau = o.tau;
  if (o.bonferroni) {
    double pairs = 0;
    for (std::size_t a = 0; a < r.encoded.avs.size(); ++a) {
      for (std::size_t b = a + 1; b < r.encoded.avs.size(); ++b)
        pairs += r.encoded.avs[a].attribute != r.encoded.avs[b].attribute;
    }
    r.tau = NormalCritical(0.05 / std::max(1.0, pairs));
  }
  r.seconds.residuals = Since(clock);
  r.spaces = Disentangle(r.sr, r.encoded, o.variant, r.tau);
  r.seconds.disentangle = Since(clock);
  PatternOptions patterns = o.patterns;
  patterns.tau = r.tau;
  patterns.class_attribute = o.class_column;
  r.kb = BuildKnowledgeBase(r.encoded, r.spaces, patterns);
  r.seconds.patterns = Since(clock);
  return r;
}

}  // namespace pdd
