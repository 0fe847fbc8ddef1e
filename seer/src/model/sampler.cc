#include "seer/sampler.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace seer {

Sampler::Sampler(SamplerOptions options) : options_(options), state_(options.seed) {
  if (!(options_.temperature >= 0.0f)) {
    common::Throw<common::InvalidArgument>("--temperature must be >= 0, got {}",
                                           options_.temperature);
  }
  if (!(options_.top_p >= 0.0f && options_.top_p <= 1.0f)) {
    common::Throw<common::InvalidArgument>("--top-p must be in [0, 1], got {}", options_.top_p);
  }
  if (state_ == 0) state_ = 0x9e3779b97f4a7c15ull;  // xorshift must not start at zero.
}

float Sampler::NextUniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const auto bits = static_cast<std::uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  return static_cast<float>(bits >> 8) / 16777216.0f;
}

int Sampler::Sample(std::span<float> logits) {
  const int n = static_cast<int>(logits.size());
  if (options_.temperature == 0.0f) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  float sum = 0.0f;
  for (float& x : logits) {
    x = std::exp((x - max_logit) / options_.temperature);
    sum += x;
  }
  for (float& x : logits) x /= sum;
  const float coin = NextUniform();

  if (options_.top_p <= 0.0f || options_.top_p >= 1.0f) {
    float cdf = 0.0f;
    for (int i = 0; i < n; ++i) {
      cdf += logits[i];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  // Tokens below (1 - p) / (n - 1) cannot be in the nucleus; drop them before sorting.
  const float cutoff = (1.0f - options_.top_p) / static_cast<float>(std::max(1, n - 1));
  candidates_.clear();
  for (int i = 0; i < n; ++i) {
    if (logits[i] >= cutoff) candidates_.emplace_back(logits[i], i);
  }
  std::sort(candidates_.begin(), candidates_.end(),
            [](auto& a, auto& b) { return a.first > b.first; });
  float cumulative = 0.0f;
  std::size_t last = candidates_.size() - 1;
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += candidates_[i].first;
    if (cumulative > options_.top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (std::size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].first;
    if (r < cdf) return candidates_[i].second;
  }
  return candidates_[last].second;
}

}  // namespace seer
