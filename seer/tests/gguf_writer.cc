#include "gguf_writer.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "seer/dtype.h"

namespace seer::test {
namespace {

template <class T>
void Put(std::vector<std::uint8_t>& out, T v) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void PutString(std::vector<std::uint8_t>& out, const std::string& s) {
  Put<std::uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

std::vector<std::uint8_t> Encode(const std::vector<float>& values, std::uint32_t ggml_type) {
  std::vector<std::uint8_t> out;
  switch (ggml_type) {
    case 0:
      for (float v : values) Put(out, v);
      break;
    case 1:
      for (float v : values) Put(out, F32ToF16(v));
      break;
    case 30:
      for (float v : values) Put(out, F32ToBF16(v));
      break;
    case 8:
      for (std::size_t b = 0; b < values.size(); b += 32) {
        float amax = 0;
        for (std::size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(values[i]));
        const float scale = amax / 127.0f;
        Put(out, F32ToF16(scale));
        const float inv = scale > 0 ? 1.0f / scale : 0.0f;
        for (std::size_t i = b; i < b + 32; ++i)
          Put(out, static_cast<std::int8_t>(std::lround(values[i] * inv)));
      }
      break;
  }
  return out;
}

}  // namespace

void GgufWriter::AddUint32(const std::string& key, std::uint32_t v) {
  Entry e{key, 4, {}};
  Put(e.encoded, v);
  entries.push_back(std::move(e));
}

void GgufWriter::AddFloat32(const std::string& key, float v) {
  Entry e{key, 6, {}};
  Put(e.encoded, v);
  entries.push_back(std::move(e));
}

void GgufWriter::AddString(const std::string& key, const std::string& v) {
  Entry e{key, 8, {}};
  PutString(e.encoded, v);
  entries.push_back(std::move(e));
}

void GgufWriter::AddBool(const std::string& key, bool v) {
  Entry e{key, 7, {}};
  Put<std::uint8_t>(e.encoded, v ? 1 : 0);
  entries.push_back(std::move(e));
}

void GgufWriter::AddStringArray(const std::string& key, const std::vector<std::string>& v) {
  Entry e{key, 9, {}};
  Put<std::uint32_t>(e.encoded, 8);
  Put<std::uint64_t>(e.encoded, v.size());
  for (const auto& s : v) PutString(e.encoded, s);
  entries.push_back(std::move(e));
}

void GgufWriter::AddFloat32Array(const std::string& key, const std::vector<float>& v) {
  Entry e{key, 9, {}};
  Put<std::uint32_t>(e.encoded, 6);
  Put<std::uint64_t>(e.encoded, v.size());
  for (float x : v) Put(e.encoded, x);
  entries.push_back(std::move(e));
}

void GgufWriter::AddInt32Array(const std::string& key, const std::vector<std::int32_t>& v) {
  Entry e{key, 9, {}};
  Put<std::uint32_t>(e.encoded, 5);
  Put<std::uint64_t>(e.encoded, v.size());
  for (auto x : v) Put(e.encoded, x);
  entries.push_back(std::move(e));
}

void GgufWriter::AddTensor(const std::string& name, std::vector<std::uint64_t> ne,
                           const std::vector<float>& values, std::uint32_t ggml_type) {
  tensors.push_back({name, std::move(ne), ggml_type, Encode(values, ggml_type), std::nullopt});
}

std::vector<std::uint8_t> GgufWriter::Serialize() const {
  std::vector<std::uint8_t> out;
  out.reserve(1 << 16);
  for (char c : std::string_view("GGUF")) out.push_back(static_cast<std::uint8_t>(c));
  Put(out, version);
  Put<std::uint64_t>(out, tensor_count.value_or(tensors.size()));
  Put<std::uint64_t>(out, kv_count.value_or(entries.size()));
  for (const auto& e : entries) {
    PutString(out, e.key);
    Put(out, e.type);
    out.insert(out.end(), e.encoded.begin(), e.encoded.end());
  }
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> offsets;
  for (const auto& t : tensors) {
    PutString(out, t.name);
    Put<std::uint32_t>(out, static_cast<std::uint32_t>(t.ne.size()));
    for (auto n : t.ne) Put(out, n);
    Put(out, t.ggml_type);
    Put(out, t.offset.value_or(offset));
    offsets.push_back(offset);
    offset = (offset + t.data.size() + alignment - 1) / alignment * alignment;
  }
  while (out.size() % alignment != 0) out.push_back(0);
  const std::size_t data_start = out.size();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    out.resize(data_start + offsets[i], 0);
    out.insert(out.end(), tensors[i].data.begin(), tensors[i].data.end());
  }
  return out;
}

void GgufWriter::Write(const std::string& path) const {
  const auto bytes = Serialize();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

GgufWriter WriterForModel(const Model& model, std::uint32_t ggml_type) {
  const ModelConfig& c = model.config;
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.embedding_length", c.dim);
  w.AddUint32("llama.feed_forward_length", c.hidden_dim);
  w.AddUint32("llama.block_count", c.n_layers);
  w.AddUint32("llama.attention.head_count", c.n_heads);
  w.AddUint32("llama.attention.head_count_kv", c.n_kv_heads);
  w.AddUint32("llama.context_length", c.context_length);
  w.AddFloat32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  w.AddFloat32("llama.rope.freq_base", c.rope_theta);
  w.AddString("tokenizer.ggml.model", "llama");
  std::vector<std::string> pieces;
  for (std::string p : model.vocab.pieces) {
    std::string marked;
    for (char ch : p) marked += ch == ' ' ? std::string("\xe2\x96\x81") : std::string(1, ch);
    pieces.push_back(marked);
  }
  w.AddStringArray("tokenizer.ggml.tokens", pieces);
  w.AddFloat32Array("tokenizer.ggml.scores", model.vocab.scores);
  std::vector<std::int32_t> types;
  for (auto t : model.vocab.types) types.push_back(static_cast<std::int32_t>(t));
  w.AddInt32Array("tokenizer.ggml.token_type", types);
  w.AddUint32("tokenizer.ggml.bos_token_id", model.vocab.bos_id);
  w.AddUint32("tokenizer.ggml.eos_token_id", model.vocab.eos_id);

  auto matrix = [&](const std::string& name, const Matrix& m) {
    // Like llama.cpp's quantizer, rows that Q8_0 blocks cannot tile fall back to F16.
    const std::uint32_t type = ggml_type == 8 && m.cols % 32 != 0 ? 1 : ggml_type;
    w.AddTensor(name, {static_cast<std::uint64_t>(m.cols), static_cast<std::uint64_t>(m.rows)},
                std::vector<float>(m.data, m.data + static_cast<std::size_t>(m.rows) * m.cols),
                type);
  };
  auto vec = [&](const std::string& name, const float* v) {
    w.AddTensor(name, {static_cast<std::uint64_t>(c.dim)}, std::vector<float>(v, v + c.dim), 0);
  };
  matrix("token_embd.weight", model.token_embedding);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = model.layers[l];
    const std::string b = "blk." + std::to_string(l) + ".";
    vec(b + "attn_norm.weight", lw.attn_norm);
    matrix(b + "attn_q.weight", lw.wq);
    matrix(b + "attn_k.weight", lw.wk);
    matrix(b + "attn_v.weight", lw.wv);
    matrix(b + "attn_output.weight", lw.wo);
    vec(b + "ffn_norm.weight", lw.ffn_norm);
    matrix(b + "ffn_gate.weight", lw.w_gate);
    matrix(b + "ffn_up.weight", lw.w_up);
    matrix(b + "ffn_down.weight", lw.w_down);
  }
  vec("output_norm.weight", model.final_norm);
  if (!c.tied_output) matrix("output.weight", model.output);
  return w;
}

namespace {
std::filesystem::path ProcessTempDir() {
  return std::filesystem::temp_directory_path() / ("seer_tests_" + std::to_string(::getpid()));
}
}  // namespace

std::string TempPath(const std::string& name) {
  static const bool created = [] {
    std::filesystem::create_directories(ProcessTempDir());
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(ProcessTempDir(), ignored);
    });
    return true;
  }();
  (void)created;
  return (ProcessTempDir() / name).string();
}

}  // namespace seer::test
