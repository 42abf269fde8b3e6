// Tokenizer files from other people: a token id far past the number of tokens defined is an Error
// naming the file and the field. Ids index dense tables: before this limit a 3 KB tokenizer.json
// with the id 2000000000 made the loader allocate ~64 GB (found by fuzz_tokenizer).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokenizer_util.h"
#include "tokenizer/json_io.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
using nlohmann::json;

namespace {

/** The 256 byte tokens of a GPT-2 byte-level vocabulary (bytes_to_unicode), ids 0..255. */
json byteTokens() {
  json vocab = json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
    std::string utf8;
    if (cp < 0x80) {
      utf8 += static_cast<char>(cp);
    } else {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab[utf8] = b;
  }
  return vocab;
}

/** byteTokens() plus @p more. */
json withBytes(const json& more) {
  json vocab = byteTokens();
  for (const auto& [token, id] : more.items()) vocab[token] = id;
  return vocab;
}

class HardeningTokenizer : public ::testing::Test {
 protected:
  HardeningTokenizer() : m_dir("tok-hardening") {}

  std::string file(const char* name = "tokenizer.json") const {
    return (m_dir.path / name).string();
  }
  /** Writes @p root as tokenizer.json and returns the error of loading the folder. */
  std::string loadError(const json& root) {
    writeFile(m_dir.path / "tokenizer.json", root.dump());
    return errorOf([&] { loadTokenizer(m_dir.path); });
  }
  static json byteLevel(const json& vocab, const json& added = json::array()) {
    return {{"pre_tokenizer", {{"type", "ByteLevel"}}},
            {"added_tokens", added},
            {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}}};
  }
  static json charLevel(const json& vocab) {
    return {{"pre_tokenizer",
             {{"type", "Split"}, {"pattern", {{"Regex", "[\\s\\S]"}}}, {"behavior", "Isolated"}}},
            {"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", nullptr}}}};
  }
  TempDir m_dir;
};

}  // namespace

TEST(TokenIdLimit, IsTwiceTheEntriesPlus1024) {
  EXPECT_EQ(tokjson::maxTokenId(0), 1023);
  EXPECT_EQ(tokjson::maxTokenId(50257), 2 * 50257 + 1023);
  EXPECT_NO_THROW(tokjson::checkTokenIdDense(1023, 0, "x"));
  EXPECT_THROW(tokjson::checkTokenIdDense(1024, 0, "x"), Error);
}

TEST_F(HardeningTokenizer, BpeVocabularyIdFarPastItsSizeIsAnError) {
  const std::string m = loadError(byteLevel(withBytes({{"cc", 2000000000}})));
  EXPECT_EQ(m, file() +
                   ": field 'model.vocab': id 2000000000 is far past the 257 tokens defined (ids "
                   "must stay below 1538, twice the number of tokens plus 1024: ids index dense "
                   "tables)");
  // Holes are fine while the ids stay dense enough.
  writeFile(m_dir.path / "tokenizer.json", byteLevel(withBytes({{"cc", 1537}})).dump());
  const auto tok = loadTokenizer(m_dir.path);
  EXPECT_EQ(tok->vocabSize(), 1538);
  EXPECT_EQ(tok->tokenId("cc"), 1537);
}

TEST_F(HardeningTokenizer, CharVocabularyIdFarPastItsSizeIsAnError) {
  const std::string m = loadError(charLevel({{"a", 0}, {"b", 2000000000}}));
  EXPECT_NE(m.find(file() + ": field 'model.vocab[\"b\"]': id 2000000000 is far past the 2 tokens "
                            "defined"),
            std::string::npos)
      << m;
}

TEST_F(HardeningTokenizer, AddedTokenIdFarPastTheVocabularyIsAnError) {
  const json added = json::array({{{"id", 2147483646}, {"content", "<|x|>"}, {"special", true}}});
  const std::string m = loadError(byteLevel(byteTokens(), added));
  EXPECT_NE(m.find(file() + ": field 'added_tokens[0]': added token '<|x|>': id 2147483646 is far "
                            "past the 257 tokens defined"),
            std::string::npos)
      << m;
}

TEST_F(HardeningTokenizer, AddedTokensDecoderIdAtInt32MaxIsAnErrorNotAnOverflow) {
  // vocab.json + merges.txt read added tokens from tokenizer_config.json's string keys; the id
  // INT32_MAX made vocabSize() (largest id + 1) overflow.
  writeFile(m_dir.path / "vocab.json", withBytes({{"ab", 256}}).dump());
  writeFile(m_dir.path / "merges.txt", "#version: 0.2\na b\n");
  writeFile(m_dir.path / "tokenizer_config.json",
            R"({"added_tokens_decoder": {"2147483647": {"content": "<|x|>", "special": true}}})");
  const std::string m = errorOf([&] { loadTokenizer(m_dir.path); });
  EXPECT_NE(m.find(file("tokenizer_config.json") +
                   ": field 'added_tokens_decoder[\"2147483647\"]': added token '<|x|>': id "
                   "2147483647 is far past the 258 tokens defined"),
            std::string::npos)
      << m;
}

// Found by fuzz_tokenizer (UBSan: index 4294967290 out of bounds): the byte-fallback token test
// used sscanf("<0x%2X>"), which also accepts a sign, so the vocabulary entry "<0x-6>" wrote
// past the 256-entry byte table. Only "<0x" + two hex digits + ">" is a byte token now.
TEST_F(HardeningTokenizer, SignedByteTokenIsAnOrdinaryTokenNotAnOutOfBoundsWrite) {
  const json root = {
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\u2581"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"byte_fallback", true},
        {"unk_token", "<unk>"},
        {"vocab", {{"<unk>", 0}, {"<0x-6>", 1}, {"<0x41>", 2}, {"\u2581", 3}}},
        {"merges", json::array()}}}};
  writeFile(m_dir.path / "tokenizer.json", root.dump());
  const auto tok = loadTokenizer(m_dir.path);
  EXPECT_EQ(tok->kind(), "sentencepiece_bpe");
  EXPECT_EQ(tok->encode("A"), (std::vector<std::int32_t>{3, 2}));  // "A" by byte fallback
  EXPECT_EQ(tok->decode({3, 2}), "A");
  EXPECT_EQ(tok->tokenId("<0x-6>"), 1);
  EXPECT_EQ(tok->tokenText(1), "<0x-6>");
}
