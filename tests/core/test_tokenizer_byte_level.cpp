// Byte-level BPE: GPT-2 (vocab.json + merges.txt layout) and Qwen (tokenizer.json). Expected ids
// are checked against the vocabulary itself or were produced with HF tokenizers 0.23.2.
#include <gtest/gtest.h>

#include <thread>

#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
using Ids = std::vector<int32_t>;
namespace fs = std::filesystem;

namespace {

class ByteLevel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_gpt2 = loadTokenizer(fixtures() / "tokenizers" / "gpt2").release();
    s_qwen = loadTokenizer(fixtures() / "tokenizers" / "qwen").release();
  }
  static void TearDownTestSuite() {
    delete s_gpt2;
    delete s_qwen;
  }
  static Tokenizer* s_gpt2;
  static Tokenizer* s_qwen;
};
Tokenizer* ByteLevel::s_gpt2 = nullptr;
Tokenizer* ByteLevel::s_qwen = nullptr;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

TEST_F(ByteLevel, Gpt2VocabularyAndSpecialTokens) {
  const Tokenizer& t = *s_gpt2;
  EXPECT_EQ(t.kind(), "byte_level_bpe");
  EXPECT_EQ(t.vocabSize(), 50257);
  EXPECT_EQ(t.tokenId("<|endoftext|>"), 50256);
  EXPECT_EQ(t.specialTokens(), std::vector<std::string>{"<|endoftext|>"});
  EXPECT_EQ(t.bosId(), 50256);
  EXPECT_EQ(t.eosId(), 50256);
  EXPECT_FALSE(t.padId().has_value());
  EXPECT_EQ(t.tokenId("\xC4\xA0world"), 995);  // "Ġworld"
  EXPECT_FALSE(t.tokenId("no such token").has_value());
}

TEST_F(ByteLevel, Gpt2EncodesDecodesAndShowsPieces) {
  const Tokenizer& t = *s_gpt2;
  EXPECT_EQ(t.encode("Hello world"), (Ids{15496, 995}));
  EXPECT_EQ(t.encode("Hello world", true), (Ids{15496, 995}));  // GPT-2 adds no BOS
  EXPECT_EQ(t.encode(""), Ids{});
  EXPECT_EQ(t.tokenText(995), " world");
  EXPECT_EQ(t.tokenText(198), "\n");
  EXPECT_EQ(t.tokenText(50256), "<|endoftext|>");
  // Special tokens in the text are single ids; decode can leave them out.
  const Ids ids = t.encode("Hello<|endoftext|> world");
  EXPECT_EQ(ids, (Ids{15496, 50256, 995}));
  EXPECT_EQ(t.decode(ids), "Hello<|endoftext|> world");
  EXPECT_EQ(t.decode(ids, true), "Hello world");
}

TEST_F(ByteLevel, PartialUtf8DecodesToReplacementCharacter) {
  const Tokenizer& t = *s_gpt2;
  // "🦙" is 12520 99 247 ("ĠðŁ", "¦", "Ļ"): a prefix of it is not valid UTF-8.
  EXPECT_EQ(t.encode(" \xF0\x9F\xA6\x99"), (Ids{12520, 99, 247}));
  EXPECT_EQ(t.decode({12520}), " " + kReplacement);
  EXPECT_EQ(t.decode({12520, 99}), " " + kReplacement);  // one U+FFFD per maximal invalid run
  EXPECT_EQ(t.decode({15496, 12520, 995}), "Hello " + kReplacement + " world");
  EXPECT_EQ(t.decode({12520, 99, 247}), " \xF0\x9F\xA6\x99");
  EXPECT_EQ(t.tokenText(12520), " <0xF0><0x9F>");
}

TEST_F(ByteLevel, Gpt2LoadsFromEitherFileOfTheLegacyLayout) {
  const auto byVocab = loadTokenizer(fixtures() / "tokenizers" / "gpt2" / "encoder.json");
  const auto byMerges = loadTokenizer(fixtures() / "tokenizers" / "gpt2" / "vocab.bpe");
  const std::string text = "It was the best of times, it was the worst of times.";
  EXPECT_EQ(byVocab->encode(text), s_gpt2->encode(text));
  EXPECT_EQ(byMerges->encode(text), s_gpt2->encode(text));
  EXPECT_EQ(byMerges->vocabSize(), 50257);
}

TEST_F(ByteLevel, QwenLoadsVocabularyAndAddedTokens) {
  const Tokenizer& t = *s_qwen;
  EXPECT_EQ(t.kind(), "byte_level_bpe");
  EXPECT_EQ(t.vocabSize(), 151643 + 26);
  EXPECT_EQ(t.addedTokens().size(), 26u);
  EXPECT_EQ(t.specialTokens().size(), 14u);  // 151643..151656 are special, the tool/think ones not
  EXPECT_EQ(t.tokenId("<|endoftext|>"), 151643);
  EXPECT_EQ(t.tokenId("<|im_start|>"), 151644);
  EXPECT_EQ(t.tokenId("<|im_end|>"), 151645);
  EXPECT_EQ(t.tokenId("</think>"), 151668);
  EXPECT_TRUE(t.isSpecial(151644));
  EXPECT_FALSE(t.isSpecial(151667));  // <think>
  // Roles from tokenizer_config.json: no BOS, eos <|im_end|>, pad <|endoftext|>.
  EXPECT_FALSE(t.bosId().has_value());
  EXPECT_EQ(t.eosId(), 151645);
  EXPECT_EQ(t.padId(), 151643);
  EXPECT_TRUE(t.prefixIds().empty());
}

TEST_F(ByteLevel, QwenEncodings) {
  const Tokenizer& t = *s_qwen;
  // "Hello" and "Ġworld" are whole vocabulary entries.
  EXPECT_EQ(t.tokenId("Hello"), 9707);
  EXPECT_EQ(t.tokenId("\xC4\xA0world"), 1879);
  EXPECT_EQ(t.encode("Hello world"), (Ids{9707, 1879}));
  EXPECT_EQ(t.encode("Hello world", true), (Ids{9707, 1879}));
  EXPECT_EQ(t.encode("<|im_start|>user\nHi<|im_end|>"), (Ids{151644, 872, 198, 13048, 151645}));
  EXPECT_EQ(t.encode("<|im_start|>system\nYou are helpful.<|im_end|>\n<think>\n\n</think>"),
            (Ids{151644, 8948, 198, 2610, 525, 10950, 13, 151645, 198, 151667, 271, 151668}));
  // Qwen's pattern: one digit per token, case-insensitive contractions.
  EXPECT_EQ(t.encode("don't DON'T 12345 3.14"),
            (Ids{15007, 944, 44273, 17323, 220, 16, 17, 18, 19, 20, 220, 18, 13, 16, 19}));
  EXPECT_EQ(t.encode("I'm 123 h\xC3\xA9llo\n\n  x"),
            (Ids{40, 2776, 220, 16, 17, 18, 305, 18503, 385, 271, 220, 856}));
}

TEST_F(ByteLevel, QwenNormalisesToNfc) {
  const Tokenizer& t = *s_qwen;
  const std::string composed = "\xC3\xA9t\xC3\xA9 caf\xC3\xA9";     // "été café"
  const std::string decomposed = "e\xCC\x81t\xC3\xA9 caf\xC3\xA9";  // first é as e + U+0301
  EXPECT_EQ(t.encode(composed), (Ids{38783, 51950}));
  EXPECT_EQ(t.encode(decomposed), t.encode(composed));
  EXPECT_EQ(t.decode(t.encode(decomposed)), composed);  // NFC is the one lossy step
}

TEST_F(ByteLevel, QwenDecodeSkipsOnlySpecialTokens) {
  const Tokenizer& t = *s_qwen;
  const Ids ids{151644, 872, 198, 13048, 151645, 151667};
  EXPECT_EQ(t.decode(ids), "<|im_start|>user\nHi<|im_end|><think>");
  EXPECT_EQ(t.decode(ids, true), "user\nHi<think>");
  EXPECT_EQ(t.tokenText(151644), "<|im_start|>");
  EXPECT_EQ(t.tokenText(1879), " world");
}

TEST_F(ByteLevel, ConcurrentEncodesAgreeWithSequentialOnes) {
  std::vector<std::string> texts;
  for (int i = 1; i <= 8; ++i)
    texts.push_back(
        readFile(fixtures() / "corpora" / "moby-dick" / ("chapter_" + std::to_string(i) + ".txt")));
  for (const Tokenizer* t : {s_gpt2, s_qwen}) {
    std::vector<Ids> expected;
    for (const auto& text : texts) expected.push_back(t->encode(text));
    std::vector<std::vector<Ids>> got(4);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
      threads.emplace_back([&, k] {
        for (std::size_t i = 0; i < texts.size(); ++i)
          got[k].push_back(t->encode(texts[(i + k) % texts.size()]));
      });
    for (auto& th : threads) th.join();
    for (int k = 0; k < 4; ++k)
      for (std::size_t i = 0; i < texts.size(); ++i)
        EXPECT_EQ(got[k][i], expected[(i + k) % texts.size()]);
  }
}

TEST_F(ByteLevel, LegacyLayoutReadsAddedTokensAndConfig) {
  TempDir dir("tok-legacy");
  fs::copy_file(fixtures() / "tokenizers" / "gpt2" / "encoder.json", dir.path / "vocab.json");
  fs::copy_file(fixtures() / "tokenizers" / "gpt2" / "vocab.bpe", dir.path / "merges.txt");
  writeFile(dir.path / "added_tokens.json", "{\"<|undo|>\": 50257}");
  writeFile(dir.path / "tokenizer_config.json",
            R"({"bos_token": {"content": "<|endoftext|>", "__type": "AddedToken"},
                "pad_token": "<|undo|>", "add_bos_token": true})");
  const auto t = loadTokenizer(dir.path);
  EXPECT_EQ(t->vocabSize(), 50258);
  EXPECT_EQ(t->tokenId("<|undo|>"), 50257);
  EXPECT_FALSE(t->isSpecial(50257));  // added_tokens.json entries are ordinary added tokens
  EXPECT_EQ(t->padId(), 50257);
  EXPECT_EQ(t->encode("Hello<|undo|> world", true), (Ids{50256, 15496, 50257, 995}));
}
