// GGUF reading: every dtype and metadata type, and hostile files that must fail cleanly.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/shared_dir.h"
#include "gguf_writer.h"
#include "seer/dtype.h"
#include "seer/gguf.h"
#include "seer/model.h"

namespace seer {
namespace {

using test::GgufWriter;
using test::TempPath;

std::string StoriesGguf() { return common::SharedFile("models/stories260K/stories260K.gguf"); }

std::vector<std::uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteBytes(const std::string& path, const std::vector<std::uint8_t>& bytes, std::size_t size) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
}

// Expects loading `path` to throw a FormatError whose message names the file and contains `needle`.
void ExpectFormatError(const std::string& path, const std::string& needle) {
  try {
    LoadModel(path);
    ADD_FAILURE() << "loading " << path << " did not fail (expected: " << needle << ")";
  } catch (const common::FormatError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
}

// A small valid file: one tensor, a few metadata entries.
GgufWriter SmallFile() {
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddUint32("llama.embedding_length", 32);
  w.AddTensor("t", {32, 2}, std::vector<float>(64, 1.0f));
  return w;
}

TEST(DType, HalfPrecisionConversionsAreExactOnRepresentableValues) {
  for (float v :
       {0.0f, 1.0f, -2.0f, 0.5f, 1024.0f, 65504.0f, 6.103515625e-05f, 5.9604645e-08f, -3.140625f}) {
    EXPECT_EQ(F16ToF32(F32ToF16(v)), v) << v;
  }
  EXPECT_EQ(F16ToF32(0x3c00), 1.0f);
  EXPECT_EQ(F16ToF32(0xc000), -2.0f);
  EXPECT_EQ(F16ToF32(0x0001), 5.9604645e-08f);  // Smallest subnormal.
  EXPECT_TRUE(std::isinf(F16ToF32(0x7c00)));
  EXPECT_EQ(BF16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(BF16ToF32(0xc040), -3.0f);
  EXPECT_EQ(F32ToBF16(1.00390625f), 0x3f80);  // Ties round to even.
  EXPECT_EQ(F32ToF16(1.00048828125f), 0x3c00);
}

TEST(Gguf, ReadsEveryTensorTypeToTheExactValues) {
  // Multiples of 0.5 up to 63.5 are exact in F16 and BF16, and in Q8_0 when each 32-block's
  // largest magnitude is 63.5 (scale 63.5 / 127 = 0.5).
  std::vector<float> values(64);
  for (int i = 0; i < 64; ++i) values[i] = 0.5f * static_cast<float>(i - 32);
  values[0] = -63.5f;
  values[63] = 63.5f;
  GgufWriter w;
  for (std::uint32_t type : {0u, 1u, 8u, 30u})
    w.AddTensor("t" + std::to_string(type), {64}, values, type);
  const std::string path = TempPath("dtypes.gguf");
  w.Write(path);
  GgufFile file(path);
  for (std::uint32_t type : {0u, 1u, 8u, 30u}) {
    const GgufTensorInfo* t = file.FindTensor("t" + std::to_string(type));
    ASSERT_NE(t, nullptr);
    std::vector<float> out(64);
    DequantizeToF32(t->dtype, file.TensorData(*t).data(), 64, out.data());
    for (int i = 0; i < 64; ++i)
      EXPECT_EQ(out[i], values[i]) << "type " << type << " element " << i;
  }
  EXPECT_EQ(file.FindTensor("t8")->size_bytes, 2u * 34u);
  EXPECT_EQ(file.FindTensor("t30")->dtype, DType::kBF16);
}

TEST(Gguf, ReadsEveryMetadataValueType) {
  GgufWriter w;
  auto raw = [&](const std::string& key, std::uint32_t type, std::vector<std::uint8_t> bytes) {
    w.entries.push_back({key, type, std::move(bytes)});
  };
  raw("u8", 0, {200});
  raw("i8", 1, {0xff});
  raw("u16", 2, {0x34, 0x12});
  raw("i16", 3, {0xfe, 0xff});
  raw("u32", 4, {1, 0, 0, 0x80});
  raw("i32", 5, {0xfd, 0xff, 0xff, 0xff});
  w.AddFloat32("f32", 1.5f);
  w.AddBool("b", true);
  w.AddString("s", "h\xc3\xa9llo");
  raw("u64", 10, {1, 0, 0, 0, 0, 0, 0, 0x80});
  raw("i64", 11, {0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  raw("f64", 12, {0, 0, 0, 0, 0, 0, 0x04, 0x40});  // 2.5
  w.AddInt32Array("arr", {1, -2, 3});
  const std::string path = TempPath("metadata.gguf");
  w.Write(path);
  GgufFile f(path);
  EXPECT_EQ(f.GetUint("u8"), 200u);
  EXPECT_EQ(std::get<std::int64_t>(f.metadata().at("i8").value), -1);
  EXPECT_EQ(f.GetUint("u16"), 0x1234u);
  EXPECT_EQ(std::get<std::int64_t>(f.metadata().at("i16").value), -2);
  EXPECT_EQ(f.GetUint("u32"), 0x80000001u);
  EXPECT_EQ(std::get<std::int64_t>(f.metadata().at("i32").value), -3);
  EXPECT_EQ(f.GetFloat("f32"), 1.5);
  EXPECT_TRUE(f.GetBool("b"));
  EXPECT_EQ(f.GetString("s"), "h\xc3\xa9llo");
  EXPECT_EQ(f.GetUint("u64"), 0x8000000000000001ull);
  EXPECT_EQ(std::get<std::int64_t>(f.metadata().at("i64").value), -4);
  EXPECT_EQ(f.GetFloat("f64"), 2.5);
  EXPECT_EQ(f.GetIntArray("arr"), (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_THROW(f.GetString("u8"), common::FormatError);
  EXPECT_THROW(f.GetUint("missing"), common::FormatError);
}

TEST(Gguf, EveryTruncatedPrefixOfARealModelFailsCleanly) {
  const auto bytes = ReadBytes(StoriesGguf());
  std::vector<std::size_t> sizes;
  for (std::size_t n = 0; n < 2048; ++n) sizes.push_back(n);
  for (std::size_t n = 2048; n < 16384; n += 61) sizes.push_back(n);
  for (std::size_t n = 16384; n < bytes.size(); n += 40961) sizes.push_back(n);
  sizes.push_back(bytes.size() - 1);
  const std::string path = TempPath("truncated.gguf");
  for (std::size_t n : sizes) {
    WriteBytes(path, bytes, n);
    try {
      LoadModel(path);
      ADD_FAILURE() << "a prefix of " << n << " bytes loaded";
    } catch (const common::FormatError& e) {
      const std::string message = e.what();
      ASSERT_NE(message.find(path), std::string::npos) << message;
      // Files shorter than the magic are neither GGUF nor llama2.c; all others must say why.
      if (n >= 8) {
        ASSERT_TRUE(message.find("truncated") != std::string::npos ||
                    message.find("remain") != std::string::npos ||
                    message.find("more than the file") != std::string::npos)
            << n << ": " << message;
      }
    }
  }
}

TEST(Gguf, WrongMagicOrVersionIsRejected) {
  auto bytes = ReadBytes(StoriesGguf());
  bytes[0] = 'X';
  const std::string path = TempPath("magic.gguf");
  WriteBytes(path, bytes, bytes.size());
  ExpectFormatError(path, "not a llama2.c checkpoint");
  GgufWriter w = SmallFile();
  w.version = 1;
  w.Write(path);
  ExpectFormatError(path, "version 1 is not supported");
  EXPECT_THROW(GgufFile{path}, common::FormatError);
}

TEST(Gguf, HugeCountsAndLengthsAreRejectedBeforeAllocation) {
  const std::string path = TempPath("huge.gguf");
  GgufWriter w = SmallFile();
  w.tensor_count = std::uint64_t{1} << 40;
  w.Write(path);
  ExpectFormatError(path, "tensor count");
  w = SmallFile();
  w.kv_count = std::uint64_t{1} << 62;
  w.Write(path);
  ExpectFormatError(path, "metadata count");
  w = SmallFile();
  w.entries.push_back({"arr", 9, {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}});  // u32 array of 2^60.
  w.Write(path);
  ExpectFormatError(path, "more than the file can hold");
  w = SmallFile();
  w.entries.push_back({"s", 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}});
  w.Write(path);
  ExpectFormatError(path, "claims a length");
  w = SmallFile();
  w.tensors[0].ne = {std::uint64_t{1} << 32, std::uint64_t{1} << 32};
  w.Write(path);
  ExpectFormatError(path, "impossible dimension");
  w = SmallFile();
  w.tensors[0].ne = {1, 1, 1, 1, 1};
  w.Write(path);
  ExpectFormatError(path, "5 dimensions");
  w = SmallFile();
  w.tensors[0].ne = {0};
  w.Write(path);
  ExpectFormatError(path, "impossible dimension 0");
}

TEST(Gguf, OffsetsPastTheEndAndUnknownTypesAreRejected) {
  const std::string path = TempPath("offsets.gguf");
  GgufWriter w = SmallFile();
  w.tensors[0].offset = 1u << 20;
  w.Write(path);
  ExpectFormatError(path, "reaches past the end of the file");
  w = SmallFile();
  w.tensors[0].offset = 4;
  w.Write(path);
  ExpectFormatError(path, "not a multiple of the alignment");
  w = SmallFile();
  w.tensors[0].ggml_type = 2;  // Q4_0.
  w.Write(path);
  ExpectFormatError(path, "ggml type 2, which is not supported");
  w = SmallFile();
  w.tensors[0].ggml_type = 999;
  w.Write(path);
  ExpectFormatError(path, "ggml type 999");
  w = SmallFile();
  w.entries.push_back({"bad", 13, {0}});
  w.Write(path);
  ExpectFormatError(path, "unknown value type 13");
  w = SmallFile();
  w.AddUint32("general.alignment", 24);
  w.Write(path);
  ExpectFormatError(path, "not a power of two");
  w = SmallFile();
  w.AddString("llama.embedding_length", "sixty-four");
  w.Write(path);
  ExpectFormatError(path, "appears twice");
}

TEST(Gguf, ModelLevelInconsistenciesAreRejected) {
  const auto model = LoadModel(StoriesGguf());
  const std::string path = TempPath("model.gguf");
  GgufWriter w = test::WriterForModel(*model, 0);
  w.tensors.erase(w.tensors.begin() + 3);
  w.Write(path);
  ExpectFormatError(path, "is missing");

  w = test::WriterForModel(*model, 0);
  w.tensors[1].ne = {64, 32};  // attn_norm as a matrix.
  w.Write(path);
  ExpectFormatError(path, "has shape");

  w = test::WriterForModel(*model, 0);
  for (auto& e : w.entries) {
    if (e.key == "llama.attention.head_count_kv") e.encoded = {3, 0, 0, 0};
  }
  w.Write(path);
  ExpectFormatError(path, "not a multiple of 3 KV heads");

  w = test::WriterForModel(*model, 0);
  for (auto& e : w.entries) {
    if (e.key == "llama.block_count") e.encoded = {0, 0, 0, 0x7f};
  }
  w.Write(path);
  ExpectFormatError(path, "implausibly large");

  w = test::WriterForModel(*model, 0);
  for (auto& e : w.entries) {
    if (e.key == "general.architecture") e.encoded = {4, 0, 0, 0, 0, 0, 0, 0, 'g', 'p', 't', '2'};
  }
  w.Write(path);
  ExpectFormatError(path, "architecture 'gpt2' is not supported");
}

TEST(Gguf, RoundTripOfTheRealModelThroughTheWriterIsExact) {
  const auto model = LoadModel(StoriesGguf());
  const std::string path = TempPath("roundtrip.gguf");
  test::WriterForModel(*model, 0).Write(path);
  const auto copy = LoadModel(path);
  EXPECT_EQ(copy->vocab.pieces, model->vocab.pieces);
  const auto n = static_cast<std::size_t>(model->config.hidden_dim) * model->config.dim;
  EXPECT_TRUE(std::equal(model->layers[4].w_down.data, model->layers[4].w_down.data + n,
                         copy->layers[4].w_down.data));
}

}  // namespace
}  // namespace seer
