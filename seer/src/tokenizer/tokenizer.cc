#include "seer/tokenizer.h"

#include <queue>

#include "common/error.h"

namespace seer {
namespace {

// Returns the byte value of a "<0xAB>" piece, or -1.
int ParseBytePiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9')
      value += c - '0';
    else if (c >= 'A' && c <= 'F')
      value += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      value += c - 'a' + 10;
    else
      return -1;
  }
  return value;
}

std::size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) return 2;
  if ((lead & 0xf0) == 0xe0) return 3;
  if ((lead & 0xf8) == 0xf0) return 4;
  return 1;  // A stray continuation or invalid byte stands alone.
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
  const std::size_t n = vocab_.pieces.size();
  if (n == 0 || vocab_.scores.size() != n || vocab_.types.size() != n) {
    common::Throw<common::FormatError>(
        "tokenizer has {} pieces, {} scores and {} types; they must be equal and non-zero", n,
        vocab_.scores.size(), vocab_.types.size());
  }
  for (int id : {vocab_.bos_id, vocab_.eos_id}) {
    if (id < 0 || static_cast<std::size_t>(id) >= n) {
      common::Throw<common::FormatError>(
          "tokenizer special token id {} is outside the vocabulary of {}", id, n);
    }
  }
  std::fill(std::begin(byte_token_), std::end(byte_token_), -1);
  for (std::size_t id = 0; id < n; ++id) {
    const TokenType type = vocab_.types[id];
    if (type == TokenType::kByte) {
      const int byte = ParseBytePiece(vocab_.pieces[id]);
      if (byte < 0) {
        common::Throw<common::FormatError>("tokenizer byte token {} has piece '{}', not <0xXX>", id,
                                           vocab_.pieces[id]);
      }
      byte_token_[byte] = static_cast<int>(id);
    } else if (type == TokenType::kNormal || type == TokenType::kUserDefined) {
      piece_to_id_.emplace(vocab_.pieces[id],
                           static_cast<int>(id));  // First id wins on duplicates.
    }
  }
}

std::vector<int> Tokenizer::Encode(std::string_view text, bool add_bos) const {
  std::vector<int> out;
  if (add_bos) out.push_back(vocab_.bos_id);
  if (text.empty()) return out;

  std::string input;
  if (vocab_.add_space_prefix) input.push_back(' ');
  input.append(text);

  // Symbols form a doubly linked list over the input; merged symbols absorb their right neighbour.
  struct Symbol {
    std::size_t start, length;
    int prev, next;
    int id;  // Token id, or -1 for a character with no piece (falls back to bytes).
  };
  std::vector<Symbol> symbols;
  for (std::size_t pos = 0; pos < input.size();) {
    const std::size_t len =
        std::min(Utf8Length(static_cast<unsigned char>(input[pos])), input.size() - pos);
    auto it = piece_to_id_.find(input.substr(pos, len));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, len, index - 1, index + 1, it == piece_to_id_.end() ? -1 : it->second});
    pos += len;
  }
  symbols.back().next = -1;

  struct Candidate {
    float score;
    int left;
    std::size_t left_length, right_length;  // To detect candidates made stale by other merges.
    int id;
    bool operator<(const Candidate& o) const {
      return score != o.score ? score < o.score : left > o.left;  // Highest score, then leftmost.
    }
  };
  std::priority_queue<Candidate> queue;
  auto consider = [&](int left) {
    if (left < 0 || symbols[left].next < 0) return;
    const Symbol& a = symbols[left];
    const Symbol& b = symbols[a.next];
    auto it = piece_to_id_.find(input.substr(a.start, a.length + b.length));
    if (it != piece_to_id_.end()) {
      queue.push({vocab_.scores[it->second], left, a.length, b.length, it->second});
    }
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) consider(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& a = symbols[c.left];
    if (a.length != c.left_length || a.next < 0 || symbols[a.next].length != c.right_length)
      continue;
    Symbol& b = symbols[a.next];
    a.length += b.length;
    a.id = c.id;
    a.next = b.next;
    if (b.next >= 0) symbols[b.next].prev = c.left;
    b.length = 0;
    consider(a.prev);
    consider(c.left);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    for (std::size_t k = 0; k < s.length; ++k) {
      const int byte_id = byte_token_[static_cast<unsigned char>(input[s.start + k])];
      out.push_back(byte_id >= 0 ? byte_id : vocab_.unk_id);
    }
  }
  return out;
}

std::string Tokenizer::DecodeToken(int prev, int token) const {
  if (token < 0 || token >= size()) return {};
  switch (vocab_.types[token]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
    case TokenType::kUnused:
      return {};
    case TokenType::kByte:
      return std::string(1, static_cast<char>(ParseBytePiece(vocab_.pieces[token])));
    default:
      break;
  }
  std::string_view piece = vocab_.pieces[token];
  if (prev == vocab_.bos_id && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
  return std::string(piece);
}

std::string Tokenizer::Decode(std::span<const int> tokens) const {
  std::string out;
  int prev =
      vocab_.bos_id;  // A sequence starts as if after BOS: the dummy prefix space is dropped.
  for (int t : tokens) {
    out += DecodeToken(prev, t);
    prev = t;
  }
  return out;
}

}  // namespace seer
