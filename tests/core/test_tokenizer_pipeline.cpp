// The pipeline pieces: pre-tokenizers, normalisers and UTF-8 helpers. The expected splits were
// produced with HF tokenizers 0.23.2 (PreTokenizer.preTokenizeString) on the same text.
#include <gtest/gtest.h>

#include <utf8proc.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "test_tokenizer_util.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"

using namespace nmar::core;
using namespace nmar::test;
using Words = std::vector<std::string>;

namespace {

const std::string kText = "Hey  friend! How's 2024-11-22?? \xC3\xA9t\xC3\xA9 x";  // "été"

Words split(const nlohmann::json& config, const std::string& text = kText, bool atStart = true) {
  Words words;
  PreTokenizer::fromJson(config, "test").split(text, atStart, words);
  return words;
}

nlohmann::json splitOnSpace(const char* behavior, bool invert) {
  return {{"type", "Split"},
          {"pattern", {{"String", " "}}},
          {"behavior", behavior},
          {"invert", invert}};
}

}  // namespace

TEST(PreTokenizers, SplitBehaviorsMatchHf) {
  EXPECT_EQ(split(splitOnSpace("Removed", false)),
            (Words{"Hey", "friend!", "How's", "2024-11-22??", "\xC3\xA9t\xC3\xA9", "x"}));
  EXPECT_EQ(split(splitOnSpace("Removed", true)), (Words{" ", " ", " ", " ", " ", " "}));
  const Words isolated{
      "Hey", " ", " ", "friend!", " ", "How's", " ", "2024-11-22??", " ", "\xC3\xA9t\xC3\xA9",
      " ",   "x"};
  EXPECT_EQ(split(splitOnSpace("Isolated", false)), isolated);
  EXPECT_EQ(split(splitOnSpace("Isolated", true)), isolated);
  const Words previous{"Hey ", " ", "friend! ", "How's ", "2024-11-22?? ", "\xC3\xA9t\xC3\xA9 ",
                       "x"};
  const Words next{"Hey", " ", " friend!", " How's", " 2024-11-22??", " \xC3\xA9t\xC3\xA9", " x"};
  EXPECT_EQ(split(splitOnSpace("MergedWithPrevious", false)), previous);
  EXPECT_EQ(split(splitOnSpace("MergedWithPrevious", true)), next);
  EXPECT_EQ(split(splitOnSpace("MergedWithNext", false)), next);
  EXPECT_EQ(split(splitOnSpace("MergedWithNext", true)), previous);
  const Words contiguous{"Hey",          "  ", "friend!",           " ", "How's", " ",
                         "2024-11-22??", " ",  "\xC3\xA9t\xC3\xA9", " ", "x"};
  EXPECT_EQ(split(splitOnSpace("Contiguous", false)), contiguous);
  EXPECT_EQ(split(splitOnSpace("Contiguous", true)), contiguous);
}

TEST(PreTokenizers, DigitsWhitespacePunctuationMatchHf) {
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", true}}),
            (Words{"Hey  friend! How's ", "2", "0", "2", "4", "-", "1", "1", "-", "2", "2",
                   "?? \xC3\xA9t\xC3\xA9 x"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}),
            (Words{"Hey  friend! How's ", "2024", "-", "11", "-", "22", "?? \xC3\xA9t\xC3\xA9 x"}));
  EXPECT_EQ(split({{"type", "Whitespace"}}),
            (Words{"Hey", "friend", "!", "How", "'", "s", "2024", "-", "11", "-", "22", "??",
                   "\xC3\xA9t\xC3\xA9", "x"}));
  EXPECT_EQ(split({{"type", "WhitespaceSplit"}}),
            (Words{"Hey", "friend!", "How's", "2024-11-22??", "\xC3\xA9t\xC3\xA9", "x"}));
  EXPECT_EQ(split({{"type", "Punctuation"}, {"behavior", "Isolated"}}),
            (Words{"Hey  friend", "!", " How", "'", "s 2024", "-", "11", "-", "22", "?", "?",
                   " \xC3\xA9t\xC3\xA9 x"}));
}

TEST(PreTokenizers, MetaspaceSchemesMatchHf) {
  const std::string s = "\xE2\x96\x81";  // "▁"
  const auto metaspace = [](const char* scheme, bool splitWords) {
    return nlohmann::json{{"type", "Metaspace"},
                          {"replacement", "\xE2\x96\x81"},
                          {"prepend_scheme", scheme},
                          {"split", splitWords}};
  };
  const Words always{
      s + "Hey", s, s + "friend!", s + "How's", s + "2024-11-22??", s + "\xC3\xA9t\xC3\xA9",
      s + "x"};
  EXPECT_EQ(split(metaspace("always", true)), always);
  EXPECT_EQ(split(metaspace("first", true)), always);
  Words never = always;
  never[0] = "Hey";
  EXPECT_EQ(split(metaspace("never", true)), never);
  EXPECT_EQ(split(metaspace("always", false)),
            Words{s + "Hey" + s + s + "friend!" + s + "How's" + s + "2024-11-22??" + s +
                  "\xC3\xA9t\xC3\xA9" + s + "x"});
  // "first" prepends only to the piece that starts the input (not after an added token).
  EXPECT_EQ(split(metaspace("first", true), "ab", false), Words{"ab"});
  EXPECT_EQ(split(metaspace("always", true), "ab", false), Words{s + "ab"});
  // The pre-0.19 form: add_prefix_space instead of prepend_scheme.
  EXPECT_EQ(split({{"type", "Metaspace"}, {"replacement", s}, {"add_prefix_space", false}}), never);
}

TEST(PreTokenizers, ByteLevelUsesGpt2PatternOnRawBytes) {
  // HF shows "ĠHey", ...: the byte-to-character mapping is left to the model here.
  EXPECT_EQ(split({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}),
            (Words{" Hey", " ", " friend", "!", " How", "'s", " 2024", "-", "11", "-", "22", "??",
                   " \xC3\xA9t\xC3\xA9", " x"}));
  EXPECT_EQ(split({{"type", "ByteLevel"}, {"use_regex", false}}), Words{kText});
  EXPECT_TRUE(PreTokenizer::fromJson({{"type", "ByteLevel"}}, "t").has("ByteLevel"));
  EXPECT_TRUE(split(nullptr, "").empty());
  EXPECT_EQ(split(nullptr), Words{kText});
}

TEST(Normalizers, StepsApplyInOrder) {
  const nlohmann::json llama = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}};
  const Normalizer n = Normalizer::fromJson(llama, "t");
  EXPECT_EQ(n.apply(" a b"),
            "\xE2\x96\x81\xE2\x96\x81"
            "a\xE2\x96\x81"
            "b");
  EXPECT_EQ(n.apply(""), "");  // Prepend leaves empty pieces empty
  EXPECT_TRUE(n.has("Prepend"));
  EXPECT_EQ(Normalizer::fromJson({{"type", "Lowercase"}}, "t").apply("\xC3\x89T\xC3\x89 X"),
            "\xC3\xA9t\xC3\xA9 x");
  EXPECT_EQ(Normalizer::fromJson({{"type", "NFKC"}}, "t").apply("\xEF\xAC\x81"), "fi");  // "ﬁ"
  EXPECT_EQ(Normalizer::fromJson({{"type", "NFD"}}, "t").apply("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(
      Normalizer::fromJson({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "t")
          .apply(" \t x y \n"),
      "x y");
  const nlohmann::json regex = {
      {"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}};
  EXPECT_EQ(Normalizer::fromJson(regex, "t").apply("a   b  c d"), "a b c d");
  EXPECT_TRUE(Normalizer::fromJson(nullptr, "t").isIdentity());
}

TEST(Utf8, NfcMatchesUtf8procOnMixedText) {
  // normalize() only sends the regions around non-ASCII characters to utf8proc: the result must be
  // the same as normalising the whole text.
  const std::vector<std::string> parts = {"e\xCC\x81",
                                          "A\xCC\x8A",
                                          "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
                                          "a\xCC\xA8\xCC\x81",
                                          "a\xCC\x81\xCC\xA8",
                                          "\xE0\xA4\x95\xE0\xA4\xBC",
                                          "x\xCC\x81y",
                                          "\xE2\x84\xAB",
                                          " ",
                                          "\n",
                                          "word",
                                          "1\xCC\x81",
                                          " \xCC\x81",
                                          "\xCC\x81",
                                          "\xE0\xB3\x86\xE0\xB3\x82",
                                          "ok."};
  std::mt19937 rng(7);
  std::string text;
  for (int i = 0; i < 3000; ++i) text += parts[rng() % parts.size()];
  auto* whole = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
  ASSERT_NE(whole, nullptr);
  const std::string expected(reinterpret_cast<const char*>(whole));
  std::free(whole);
  EXPECT_EQ(utf8::normalize(text, utf8::NormalForm::kNfc), expected);
  EXPECT_NE(expected, text);
}

TEST(Utf8, LossyAndEscapedDecoding) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::lossy("ok"), "ok");
  EXPECT_EQ(utf8::lossy("a\xF0\x9F\xA6"), "a" + fffd);         // a truncated 4-byte sequence
  EXPECT_EQ(utf8::lossy("\xFF\xFE"), fffd + fffd);             // two invalid bytes
  EXPECT_EQ(utf8::lossy("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate: 3 maximal subparts
  EXPECT_EQ(utf8::escapeInvalid("a\xF0\x9F"), "a<0xF0><0x9F>");
  EXPECT_EQ(utf8::findInvalid("ab\xC3(\xC3\xA9"), 2u);
  EXPECT_EQ(utf8::findInvalid("\xC3\xA9"), utf8::kValid);
  EXPECT_EQ(utf8::describeCharAt("a\xC3\xA9", 1), "'\xC3\xA9' (U+00E9)");
  EXPECT_EQ(utf8::describeCharAt("\n", 0), "'\\n' (U+000A)");
}
