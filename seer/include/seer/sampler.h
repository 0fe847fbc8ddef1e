// Next-token sampling as in llama2.c: greedy at temperature 0, otherwise softmax(logits / T)
// sampled whole or restricted to the top-p nucleus, from a seeded xorshift generator.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace seer {

struct SamplerOptions {
  float temperature = 1.0f;
  float top_p = 0.9f;  // 0 or >= 1 samples from the whole distribution.
  std::uint64_t seed = 1;
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions options);

  // Returns the next token id; may modify `logits`.
  int Sample(std::span<float> logits);

 private:
  float NextUniform();  // In [0, 1).

  SamplerOptions options_;
  std::uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;
};

}  // namespace seer
