// Text generation with llama2.c's conventions: `steps` counts positions, the prompt's included;
// the prompt is prefilled in one batch, then tokens are sampled one at a time until `steps`
// positions are filled or the model emits BOS or EOS.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "seer/sampler.h"
#include "seer/tokenizer.h"
#include "seer/transformer.h"

namespace seer {

struct GenerationStats {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Calls `emit` with the text of every token after BOS (prompt tokens first), as it is produced.
GenerationStats Generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                         std::string_view prompt, int steps,
                         const std::function<void(const std::string&)>& emit);

}  // namespace seer
