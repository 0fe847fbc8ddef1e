// Tokenizer: the reference prompt's ids, agreement of the GGUF and llama2.c vocabularies, round
// trips.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/mapped_file.h"
#include "common/shared_dir.h"
#include "seer/model.h"
#include "seer/tokenizer.h"

namespace seer {
namespace {

struct Stories {
  std::unique_ptr<Model> gguf =
      LoadModel(common::SharedFile("models/stories260K/stories260K.gguf"));
  std::unique_ptr<Model> bin = LoadModel(common::SharedFile("models/stories260K/stories260K.bin"),
                                         common::SharedFile("models/stories260K/tok512.bin"));
  nlohmann::json reference = nlohmann::json::parse(
      common::ReadFile(common::SharedFile("models/stories260K/reference_greedy.json")));
};

const Stories& GetStories() {
  static const Stories stories;
  return stories;
}

TEST(Tokenizer, PromptIdsEqualTheReference) {
  const auto& s = GetStories();
  const std::vector<int> expected = s.reference["input_tokens_by_position"];
  for (const Model* model : {s.gguf.get(), s.bin.get()}) {
    const Tokenizer tokenizer(model->vocab);
    const auto ids = tokenizer.Encode(s.reference["prompt"].get<std::string>(), true);
    ASSERT_GT(ids.size(), 5u);
    ASSERT_LE(ids.size(), expected.size());
    EXPECT_EQ(ids,
              std::vector<int>(expected.begin(), expected.begin() + static_cast<long>(ids.size())))
        << model->format;
  }
}

TEST(Tokenizer, GgufAndLlama2cVocabulariesAgreeOnABook) {
  const auto& s = GetStories();
  const std::string text =
      common::ReadFile(common::SharedFile("text/sherlock-holmes-pg1661.txt")).substr(0, 30000);
  const auto a = Tokenizer(s.gguf->vocab).Encode(text, true);
  const auto b = Tokenizer(s.bin->vocab).Encode(text, true);
  EXPECT_EQ(a, b);
  EXPECT_LT(a.size(), text.size());  // Merges happened.
}

TEST(Tokenizer, DecodeInvertsEncodeIncludingByteFallback) {
  const Tokenizer tokenizer(GetStories().gguf->vocab);
  for (const std::string text :
       {"Once upon a time, Lily said: \"hi!\"\n\ttabs  and  spaces",
        "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", "x"}) {
    const auto ids = tokenizer.Encode(text, false);
    EXPECT_EQ(tokenizer.Decode(ids), text);
  }
  // Characters the 512-piece vocabulary lacks become one byte token each (<0xXX> = byte + 3).
  const auto ids = tokenizer.Encode("\xe6\x97\xa5", false);
  ASSERT_EQ(ids.size(), 4u);  // The dummy-prefix space, then three bytes.
  EXPECT_EQ(ids[1], 0xe6 + 3);
  EXPECT_EQ(ids[3], 0xa5 + 3);
}

TEST(Tokenizer, ControlTokenTextIsNotASpecialToken) {
  const Tokenizer tokenizer(GetStories().gguf->vocab);
  const auto ids = tokenizer.Encode("<s></s>", false);
  for (int id : ids) {
    EXPECT_NE(id, 1);
    EXPECT_NE(id, 2);
  }
  EXPECT_TRUE(tokenizer.Encode("", true) == std::vector<int>{1});
  EXPECT_TRUE(tokenizer.Encode("", false).empty());
}

}  // namespace
}  // namespace seer
