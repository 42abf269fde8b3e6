// save() writes a tokenizer.json + tokenizer_config.json that load back to the same tokenizer,
// with <|undo|> added at the end of the vocabulary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;

namespace {

struct Case {
  const char* name;
  const char* path;  // under fixtures()/tokenizers
  const char* kind;
};

class SaveLoad : public ::testing::TestWithParam<Case> {};

const std::string kSample =
    "Call me Ishmael.<|undo|> Some years ago\xE2\x80\x94never mind how long precisely\n\n"
    "  having little or no money in my purse, \xC3\xA9t\xC3\xA9 \xF0\x9F\xA6\x99 12345<|undo|>";

}  // namespace

TEST_P(SaveLoad, UndoSurvivesAndEncodingsAreUnchanged) {
  TempDir dir(std::string("tok-save-") + GetParam().name);
  auto tok = loadTokenizer(fixtures() / "tokenizers" / GetParam().path);
  const int32_t before = tok->vocabSize();
  const std::vector<int32_t> plain = tok->encode("Call me Ishmael.");
  const int32_t undo = tok->addSpecialToken("<|undo|>");
  EXPECT_EQ(undo, before);
  EXPECT_EQ(tok->addSpecialToken("<|undo|>"), undo);
  EXPECT_EQ(tok->encode("Call me Ishmael."), plain);  // adding a token changes no other encoding
  const std::vector<int32_t> ids = tok->encode(kSample);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), undo), 2);
  tok->save(dir.path);

  const auto back = loadTokenizer(dir.path);
  EXPECT_EQ(back->kind(), GetParam().kind);
  EXPECT_EQ(back->vocabSize(), before + 1);
  EXPECT_EQ(back->tokenId("<|undo|>"), undo);
  EXPECT_TRUE(back->isSpecial(undo));
  EXPECT_EQ(back->specialTokens(), tok->specialTokens());
  EXPECT_EQ(back->bosId(), tok->bosId());
  EXPECT_EQ(back->eosId(), tok->eosId());
  EXPECT_EQ(back->padId(), tok->padId());
  EXPECT_EQ(back->unkId(), tok->unkId());
  EXPECT_EQ(back->prefixIds(), tok->prefixIds());
  EXPECT_EQ(back->encode(kSample), ids);
  EXPECT_EQ(back->encode(kSample, true), tok->encode(kSample, true));
  EXPECT_EQ(back->decode(ids), tok->decode(ids));
  EXPECT_EQ(back->decode(ids, true), tok->decode(ids, true));
  for (int32_t id : {0, 1, 2, 13, 198, 1000, undo})
    EXPECT_EQ(back->tokenText(id), tok->tokenText(id));

  // The files say what other tools need: the added token and its role.
  const auto j = nlohmann::json::parse(readFile(dir.path / "tokenizer.json"));
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["added_tokens"].back()["content"], "<|undo|>");
  EXPECT_EQ(j["added_tokens"].back()["id"], undo);
  EXPECT_EQ(j["added_tokens"].back()["special"], true);
  const auto config = nlohmann::json::parse(readFile(dir.path / "tokenizer_config.json"));
  EXPECT_EQ(config["added_tokens_decoder"][std::to_string(undo)]["content"], "<|undo|>");
  const auto& extra = config["additional_special_tokens"];
  EXPECT_NE(std::find(extra.begin(), extra.end(), "<|undo|>"), extra.end());

  // Saving what was loaded gives the same file again.
  TempDir again(std::string("tok-save2-") + GetParam().name);
  back->save(again.path);
  EXPECT_EQ(readFile(again.path / "tokenizer.json"), readFile(dir.path / "tokenizer.json"));
}

INSTANTIATE_TEST_SUITE_P(
    Tokenizers, SaveLoad,
    ::testing::Values(Case{"gpt2", "gpt2", "byte_level_bpe"},
                      Case{"qwen", "qwen", "byte_level_bpe"},
                      Case{"llama2_model", "llama2/tokenizer.model", "sentencepiece_bpe"},
                      Case{"llama2_json", "llama2/tokenizer.json", "sentencepiece_bpe"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SaveLoadGpt2, LegacyLayoutBecomesTokenizerJson) {
  TempDir dir("tok-gpt2-json");
  const auto tok = loadTokenizer(fixtures() / "tokenizers" / "gpt2");
  tok->save(dir.path);
  const auto j = nlohmann::json::parse(readFile(dir.path / "tokenizer.json"));
  EXPECT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
  EXPECT_EQ(j["model"]["vocab"].size(), 50257u);
  EXPECT_EQ(j["model"]["merges"].size(), 50000u);
  EXPECT_EQ(j["model"]["merges"][0], "\xC4\xA0 t");  // "Ġ t", the first line of vocab.bpe
  const auto config = nlohmann::json::parse(readFile(dir.path / "tokenizer_config.json"));
  EXPECT_EQ(config["bos_token"], "<|endoftext|>");
  EXPECT_EQ(config["eos_token"], "<|endoftext|>");
}
