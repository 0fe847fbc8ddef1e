// Perplexity over consecutive, non-overlapping windows of a token stream.
#pragma once

#include <functional>
#include <span>

#include "seer/transformer.h"

namespace seer {

struct PerplexityResult {
  double perplexity = 0;
  long scored_tokens = 0;  // Tokens predicted: window length - 1 per window.
  double mean_nll = 0;
};

// Splits `tokens` into windows of `window` tokens (the last may be shorter; one of fewer than two
// tokens is dropped), prefills each from position 0 and scores every token after the window's
// first by the model's log-probability. `progress(windows_done, windows_total)` is called after
// each.
PerplexityResult Perplexity(Transformer& transformer, std::span<const int> tokens, int window,
                            const std::function<void(int, int)>& progress = {});

}  // namespace seer
