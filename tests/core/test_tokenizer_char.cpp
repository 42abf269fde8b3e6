// The character tokenizer of the built-in tasks: ids, special tokens, UNDO, save/load, errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokenizer_util.h"
#include "tokenizer/char_tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
using Ids = std::vector<int32_t>;

TEST(CharTokenizer, SpecialTokensFirstThenTheAlphabet) {
  const CharTokenizer t("0123456789+=");
  EXPECT_EQ(t.kind(), "char");
  EXPECT_EQ(t.vocabSize(), 3 + 12);
  EXPECT_EQ(t.padId(), 0);
  EXPECT_EQ(t.bosId(), 1);
  EXPECT_EQ(t.eosId(), 2);
  EXPECT_FALSE(t.unkId().has_value());
  EXPECT_EQ(t.tokenId("0"), 3);
  EXPECT_EQ(t.tokenId("="), 14);
  EXPECT_EQ(t.alphabet(), "0123456789+=");
  EXPECT_EQ(t.specialTokens(), (std::vector<std::string>{"<|pad|>", "<|bos|>", "<|eos|>"}));
  EXPECT_EQ(t.encode("12+3="), (Ids{4, 5, 13, 6, 14}));
  EXPECT_EQ(t.encode("12+3=", true), (Ids{1, 4, 5, 13, 6, 14}));  // BOS when asked
  EXPECT_EQ(t.tokenText(13), "+");
}

TEST(CharTokenizer, RoundTripsAndRecognisesSpecialTokens) {
  const CharTokenizer t(CharTokenizer::defaultAlphabet());
  const std::string text = "348+275=623\nsort: c a b -> a b c";
  EXPECT_EQ(t.decode(t.encode(text)), text);
  const Ids ids = t.encode("<|bos|>12+3=15<|eos|><|pad|>");
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids[8], 2);
  EXPECT_EQ(ids[9], 0);
  EXPECT_EQ(t.decode(ids), "<|bos|>12+3=15<|eos|><|pad|>");
  EXPECT_EQ(t.decode(ids, true), "12+3=15");
  // "<", "|" and ">" are ordinary characters when they do not form a special token.
  EXPECT_EQ(t.decode(t.encode("<|bos>")), "<|bos>");
}

TEST(CharTokenizer, MultiByteCharactersAreOneTokenEach) {
  const CharTokenizer t("a\xC3\xA9\xE4\xB8\xAD", {});  // "aé中", no special tokens
  EXPECT_EQ(t.vocabSize(), 3);
  EXPECT_EQ(t.encode("\xE4\xB8\xAD"
                     "a\xC3\xA9"),
            (Ids{2, 0, 1}));
  EXPECT_FALSE(t.bosId().has_value());
  EXPECT_EQ(t.encode("a", true), Ids{0});
}

TEST(CharTokenizer, UndoGetsTheNextIdAndIsIdempotent) {
  CharTokenizer t("abc");
  const int32_t before = t.vocabSize();
  const int32_t undo = t.addSpecialToken("<|undo|>");
  EXPECT_EQ(undo, before);
  EXPECT_EQ(t.vocabSize(), before + 1);
  EXPECT_EQ(t.addSpecialToken("<|undo|>"), undo);
  EXPECT_EQ(t.vocabSize(), before + 1);
  EXPECT_EQ(t.addSpecialToken("<|eos|>"), 2);  // already there
  EXPECT_EQ(t.encode("ab<|undo|>c"), (Ids{3, 4, undo, 5}));
  EXPECT_TRUE(t.isSpecial(undo));
  EXPECT_EQ(t.decode({3, undo, 5}, true), "ac");
}

TEST(CharTokenizer, SavesAWordLevelTokenizerJsonAndLoadsItBack) {
  TempDir dir("char-tok");
  CharTokenizer t(CharTokenizer::defaultAlphabet());
  const int32_t undo = t.addSpecialToken("<|undo|>");
  t.save(dir.path);

  const nlohmann::json j = nlohmann::json::parse(readFile(dir.path / "tokenizer.json"));
  EXPECT_EQ(j["model"]["type"], "WordLevel");
  EXPECT_EQ(j["pre_tokenizer"]["type"], "Split");
  EXPECT_EQ(j["pre_tokenizer"]["behavior"], "Isolated");
  EXPECT_EQ(j["decoder"]["type"], "Fuse");
  EXPECT_EQ(j["model"]["vocab"]["a"], *t.tokenId("a"));
  ASSERT_EQ(j["added_tokens"].size(), 4u);
  EXPECT_EQ(j["added_tokens"][3]["content"], "<|undo|>");
  EXPECT_EQ(j["added_tokens"][3]["id"], undo);
  const nlohmann::json config = nlohmann::json::parse(readFile(dir.path / "tokenizer_config.json"));
  EXPECT_EQ(config["bos_token"], "<|bos|>");
  EXPECT_EQ(config["pad_token"], "<|pad|>");
  EXPECT_EQ(config["additional_special_tokens"], nlohmann::json::array({"<|undo|>"}));

  const auto back = loadTokenizer(dir.path);
  EXPECT_EQ(back->kind(), "char");
  EXPECT_EQ(back->vocabSize(), t.vocabSize());
  EXPECT_EQ(back->tokenId("<|undo|>"), undo);
  EXPECT_EQ(back->bosId(), t.bosId());
  EXPECT_EQ(back->eosId(), t.eosId());
  EXPECT_EQ(back->padId(), t.padId());
  const std::string text = "<|bos|>Sort: b a c\n12*3=(36)<|undo|>!<|eos|>";
  EXPECT_EQ(back->encode(text), t.encode(text));
  EXPECT_EQ(back->encode(text, true), t.encode(text, true));
  EXPECT_EQ(back->decode(t.encode(text)), text);
  for (int32_t id = 0; id < t.vocabSize(); ++id) EXPECT_EQ(back->tokenText(id), t.tokenText(id));
}

TEST(CharTokenizer, UnknownCharacterNamesItAndItsOffset) {
  const CharTokenizer t("0123456789+=");
  const std::string e = errorOf([&] { t.encode("12+x=3"); });
  EXPECT_NE(e.find("'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("U+0078"), std::string::npos) << e;
  EXPECT_NE(e.find("byte offset 3"), std::string::npos) << e;
  // The offset counts bytes of the whole input, special tokens included.
  const std::string e2 = errorOf([&] { t.encode("<|bos|>1\xC3\xA9"); });
  EXPECT_NE(e2.find("U+00E9"), std::string::npos) << e2;
  EXPECT_NE(e2.find("byte offset 8"), std::string::npos) << e2;
}

TEST(CharTokenizer, UnknownCharacterBecomesUnkWhenThereIsOne) {
  const CharTokenizer t("ab", {"<|pad|>", "<|unk|>"});
  ASSERT_EQ(t.unkId(), 1);
  EXPECT_EQ(t.encode("a?b"), (Ids{2, 1, 3}));
}

TEST(CharTokenizer, RejectsBadAlphabets) {
  EXPECT_NE(errorOf([] { CharTokenizer("abca"); }).find("repeats 'a'"), std::string::npos);
  EXPECT_NE(errorOf([] { CharTokenizer("ab\xFF"); }).find("not valid UTF-8 at byte offset 2"),
            std::string::npos);
  EXPECT_NE(errorOf([] {
              CharTokenizer("ab", {"<|pad|>", "<|pad|>"});
            }).find("<|pad|>"),
            std::string::npos);
  EXPECT_NE(errorOf([] { CharTokenizer("ab", {""}); }).find("empty"), std::string::npos);
}
