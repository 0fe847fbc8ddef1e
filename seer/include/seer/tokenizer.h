// SentencePiece-style BPE tokenizer with byte fallback, as stored in GGUF (`tokenizer.ggml.*`,
// model "llama") and in llama2.c tokenizer files. Encoding merges the adjacent pair whose merged
// piece has the highest score, leftmost first, until no pair merges (the llama2.c / SentencePiece
// BPE rule); characters without a piece become byte tokens.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seer {

// Token types as numbered by GGUF's `tokenizer.ggml.token_type`.
enum class TokenType : std::uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Pieces use a plain space where SentencePiece files store U+2581; loaders convert.
struct Vocabulary {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  int bos_id = 1;
  int eos_id = 2;
  int unk_id = 0;
  bool add_space_prefix = true;
};

class Tokenizer {
 public:
  // Validates the vocabulary (ids in range, one byte token per byte value when any exist).
  explicit Tokenizer(Vocabulary vocab);

  const Vocabulary& vocab() const { return vocab_; }
  int size() const { return static_cast<int>(vocab_.pieces.size()); }

  // Returns the token ids of `text`, with BOS first when `add_bos`.
  std::vector<int> Encode(std::string_view text, bool add_bos) const;

  // Returns the bytes `token` stands for after `prev` (a leading space is dropped right after BOS;
  // control tokens are empty; byte tokens are their byte).
  std::string DecodeToken(int prev, int token) const;

  // Returns the text of a whole sequence.
  std::string Decode(std::span<const int> tokens) const;

 private:
  Vocabulary vocab_;
  std::unordered_map<std::string, int> piece_to_id_;  // Normal and user-defined pieces only.
  int byte_token_[256];                               // -1 where the vocabulary has none.
};

}  // namespace seer
