// SentencePiece-style BPE: Llama-2 from tokenizer.model (converted as HF transformers does) and the
// tokenizer.json fixture (another vocabulary, Mistral-7B's, with the same conventions).
#include <gtest/gtest.h>

#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
using Ids = std::vector<int32_t>;

namespace {

class SentencePiece : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_llama = loadTokenizer(fixtures() / "tokenizers" / "llama2" / "tokenizer.model").release();
    s_json = loadTokenizer(fixtures() / "tokenizers" / "llama2" / "tokenizer.json").release();
  }
  static void TearDownTestSuite() {
    delete s_llama;
    delete s_json;
  }
  static Tokenizer* s_llama;
  static Tokenizer* s_json;
};
Tokenizer* SentencePiece::s_llama = nullptr;
Tokenizer* SentencePiece::s_json = nullptr;

const std::string kSpace = "\xE2\x96\x81";  // "▁"

}  // namespace

TEST_F(SentencePiece, VocabularyAndRoles) {
  for (const Tokenizer* t : {s_llama, s_json}) {
    EXPECT_EQ(t->kind(), "sentencepiece_bpe");
    EXPECT_EQ(t->vocabSize(), 32000);
    EXPECT_EQ(t->specialTokens(), (std::vector<std::string>{"<unk>", "<s>", "</s>"}));
    EXPECT_EQ(t->unkId(), 0);
    EXPECT_EQ(t->bosId(), 1);
    EXPECT_EQ(t->eosId(), 2);
    EXPECT_EQ(t->prefixIds(), Ids{1});
    EXPECT_EQ(t->tokenId("<0x0A>"), 13);
  }
  EXPECT_EQ(s_llama->tokenId(kSpace + "Hello"), 15043);
  EXPECT_EQ(s_llama->tokenId(kSpace), 29871);
}

TEST_F(SentencePiece, BosOnlyWhenAsked) {
  EXPECT_EQ(s_llama->encode("Hello world"), (Ids{15043, 3186}));
  EXPECT_EQ(s_llama->encode("Hello world", true), (Ids{1, 15043, 3186}));
  EXPECT_EQ(s_llama->encode("<s>Hello"), (Ids{1, 15043}));  // the text's own <s> is one id
  EXPECT_EQ(s_llama->encode(""), Ids{});
  EXPECT_EQ(s_llama->encode("", true), Ids{1});
}

TEST_F(SentencePiece, ByteFallbackAndPieces) {
  const Tokenizer& t = *s_llama;
  EXPECT_EQ(t.encode("\n"), (Ids{29871, 13}));
  // "🦙" has no piece: its four UTF-8 bytes become <0xF0> <0x9F> <0xA6> <0x99>.
  EXPECT_EQ(t.encode("\xF0\x9F\xA6\x99"), (Ids{29871, 243, 162, 169, 156}));
  EXPECT_EQ(t.tokenText(15043), " Hello");
  EXPECT_EQ(t.tokenText(13), "\n");
  EXPECT_EQ(t.tokenText(243), "<0xF0>");
  EXPECT_EQ(t.tokenText(1), "<s>");
}

TEST_F(SentencePiece, DecodeFollowsHfRules) {
  const Tokenizer& t = *s_llama;
  const std::string fffd = "\xEF\xBF\xBD";
  // An invalid run of byte tokens gives one U+FFFD per byte (HF's ByteFallback decoder).
  EXPECT_EQ(t.decode({243, 162}), fffd + fffd);
  EXPECT_EQ(t.decode({15043, 243, 162, 3186}), "Hello" + fffd + fffd + " world");
  EXPECT_EQ(t.decode({1, 15043}), "<s> Hello");
  EXPECT_EQ(t.decode({1, 15043}, true), "Hello");
}

TEST_F(SentencePiece, WhereNormalisationIsLossy) {
  const Tokenizer& t = *s_llama;
  // Round trips hold for plain text, leading spaces included: the decoder strips the one "▁" the
  // normaliser prepended.
  for (const std::string s : {"Hello", " Hello", "  two spaces", "a\n b"})
    EXPECT_EQ(t.decode(t.encode(s)), s);
  // But every piece between added tokens gets its own "▁": after an added token a space appears.
  EXPECT_EQ(t.encode("Hi</s>there"), (Ids{6324, 2, 727}));
  EXPECT_EQ(t.decode(t.encode("Hi</s>there")), "Hi</s> there");
  // And decoding a slice strips its leading space, so per-token decodes do not add up.
  const Ids ids = t.encode("Hello world");
  EXPECT_EQ(t.decode({ids[1]}), "world");
  EXPECT_EQ(t.tokenText(ids[1]), " world");
}
