#include "seer/perplexity.h"

#include <cmath>
#include <vector>

#include "common/error.h"

namespace seer {

PerplexityResult Perplexity(Transformer& transformer, std::span<const int> tokens, int window,
                            const std::function<void(int, int)>& progress) {
  if (window < 2 || window > transformer.max_tokens()) {
    common::Throw<common::InvalidArgument>("--ctx must be between 2 and {}, got {}",
                                           transformer.max_tokens(), window);
  }
  const int total = static_cast<int>(tokens.size());
  const int windows = total / window + (total % window >= 2 ? 1 : 0);
  if (windows == 0) {
    common::Throw<common::InvalidArgument>("the text has {} tokens; perplexity needs at least 2",
                                           total);
  }
  const int vocab = transformer.model().config.vocab_size;
  const int dim = transformer.model().config.dim;
  constexpr int kLogitRows = 64;  // Bounds the logits buffer for large vocabularies.
  std::vector<float> logits(static_cast<std::size_t>(kLogitRows) * vocab);
  double nll = 0;
  long scored = 0;
  for (int w = 0; w < windows; ++w) {
    const int begin = w * window;
    const int length = std::min(window, total - begin);
    auto hidden = transformer.Forward(tokens.subspan(begin, length), 0);
    for (int row0 = 0; row0 < length - 1; row0 += kLogitRows) {
      const int rows = std::min(kLogitRows, length - 1 - row0);
      transformer.Logits(hidden.data() + static_cast<std::size_t>(row0) * dim, rows, logits.data());
      for (int r = 0; r < rows; ++r) {
        const float* row = logits.data() + static_cast<std::size_t>(r) * vocab;
        double max_logit = row[0];
        for (int i = 1; i < vocab; ++i)
          max_logit = std::max(max_logit, static_cast<double>(row[i]));
        double sum = 0;
        for (int i = 0; i < vocab; ++i) sum += std::exp(row[i] - max_logit);
        const int target = tokens[begin + row0 + r + 1];
        nll += max_logit + std::log(sum) - row[target];
      }
      scored += rows;
    }
    if (progress) progress(w + 1, windows);
  }
  PerplexityResult result;
  result.scored_tokens = scored;
  result.mean_nll = nll / static_cast<double>(scored);
  result.perplexity = std::exp(result.mean_nll);
  return result;
}

}  // namespace seer
