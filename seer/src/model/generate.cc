#include "seer/generate.h"

#include <chrono>

#include "common/error.h"

namespace seer {

GenerationStats Generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                         std::string_view prompt, int steps,
                         const std::function<void(const std::string&)>& emit) {
  using Clock = std::chrono::steady_clock;
  if (steps < 1 || steps > transformer.max_tokens()) {
    common::Throw<common::InvalidArgument>(
        "--steps must be between 1 and the context length {}, got {}", transformer.max_tokens(),
        steps);
  }
  std::vector<int> tokens = tokenizer.Encode(prompt, /*add_bos=*/true);
  GenerationStats stats;
  stats.prompt_tokens = static_cast<int>(tokens.size());
  const Vocabulary& vocab = tokenizer.vocab();

  // Positions 1..steps are emitted; those inside the prompt need no forward pass.
  const int prompt_emitted = std::min(stats.prompt_tokens - 1, steps);
  for (int pos = 1; pos <= prompt_emitted; ++pos)
    emit(tokenizer.DecodeToken(tokens[pos - 1], tokens[pos]));
  if (stats.prompt_tokens > steps) return stats;

  auto start = Clock::now();
  std::vector<float> logits;
  auto next_logits = [&](std::span<const int> batch, int pos) {
    auto l = transformer.NextLogits(batch, pos);
    logits.assign(l.begin(), l.end());
  };
  next_logits(tokens, 0);
  stats.prefill_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  for (int pos = stats.prompt_tokens; pos <= steps; ++pos) {  // `pos` of the sampled token.
    const int next = sampler.Sample(logits);
    if (next == vocab.bos_id || next == vocab.eos_id) break;
    emit(tokenizer.DecodeToken(tokens.back(), next));
    tokens.push_back(next);
    ++stats.generated_tokens;
    if (pos == steps) break;
    const int token = next;
    next_logits(std::span<const int>(&token, 1), pos);
  }
  stats.decode_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

}  // namespace seer
