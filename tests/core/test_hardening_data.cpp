// JSONL datasets from other people: nesting and number limits are Errors naming the file, the
// line and the column, never a crash. Regressions for what fuzz_jsonl found.
#include <gtest/gtest.h>

#include "data/jsonl_dataset.h"
#include "data/verifier.h"
#include "util/error.h"

using namespace nmar::core;

namespace {

std::string errorOf(const std::string& text) {
  try {
    parseJsonlDataset(text, "d.jsonl");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error for: " << text.substr(0, 200);
  return "";
}

const std::string kGood = R"({"prompt": "2+2=", "completion": "4"})";

}  // namespace

// Found by fuzz_jsonl: a number too large for a double escaped as nlohmann's out_of_range.
TEST(HardeningJsonl, NumberTooLargeForADoubleIsAnErrorNamingLineAndColumn) {
  EXPECT_EQ(errorOf(kGood + "\n" + R"({"prompt": "a", "completion": "b", "difficulty": 4E4444})"),
            "d.jsonl:2: invalid JSON at column 50: number overflow parsing '4E4444' (out of the "
            "range of a double)");
}

TEST(HardeningJsonl, DeepNestingIsAnErrorNamingLineAndColumn) {
  const std::string deep =
      R"({"prompt": "a", "completion": "b", "meta": )" + std::string(100'000, '[');
  EXPECT_EQ(errorOf(kGood + "\n\n" + deep),
            "d.jsonl:3: JSON nested deeper than 128 levels at column 171 (arrays and objects)");
  // 128 levels (the object is one of them) are fine.
  const std::string ok = R"({"prompt": "a", "completion": "b", "meta": )" + std::string(127, '[') +
                         std::string(127, ']') + "}";
  const std::vector<Example> examples = parseJsonlDataset(ok, "d.jsonl");
  ASSERT_EQ(examples.size(), 1u);
  EXPECT_EQ(examples[0].completion, "b");
}

// A regex from a dataset is compiled when the dataset loads: std::regex compiles by recursion,
// so 20,000 nested groups overflowed the stack (ASan: stack-overflow in the regex compiler).
TEST(HardeningJsonl, DeeplyNestedOrLongRegexIsAnErrorNamingLineAndField) {
  const std::string deep = std::string(40, '(') + "a" + std::string(40, ')');
  EXPECT_EQ(
      errorOf(R"({"prompt": "a", "completion": "b", "answer": {"type": "regex", "value": ")" +
              deep + "\"}}"),
      "d.jsonl:1: field 'answer.value': regex nests groups deeper than 32 levels (at byte 32)");
  // Escaped parentheses are characters, not groups: 40 x "\\(" in the JSON is the regex \(\(...
  std::string literal;
  for (int i = 0; i < 40; ++i) literal += "\\\\(";
  const std::vector<Example> ok = parseJsonlDataset(
      R"({"prompt": "a", "completion": "b", "answer": {"type": "regex", "value": ")" + literal +
          "\"}}",
      "d.jsonl");
  ASSERT_EQ(ok.size(), 1u);
  std::string pattern;
  for (int i = 0; i < 40; ++i) pattern += "\\(";
  EXPECT_EQ(ok[0].answer, pattern);
  const std::string longPattern(kMaxRegexPatternBytes + 1, 'a');
  EXPECT_EQ(errorOf(R"({"prompt": "a", "completion": "b", "answer": {"type": "regex", "value": ")" +
                    longPattern + "\"}}"),
            "d.jsonl:1: field 'answer.value': regex of 1025 bytes, longer than the limit of 1024");
}

// std::regex_match recurses per character: a 100,000-character output segfaulted on (a|b)*.
TEST(HardeningVerifier, OutputLongerThanTheRegexLimitIsWrongWithoutMatching) {
  const Verifier v = Verifier::regex(std::string("(a|b)*"));
  Example ex;
  ex.source = "d.jsonl:1";
  EXPECT_TRUE(v.verify(ex, std::string(kMaxRegexTextBytes, 'a')).correct);
  const Verdict long_ = v.verify(ex, std::string(100'000, 'a'));
  EXPECT_FALSE(long_.correct);
  EXPECT_EQ(long_.detail,
            "expected a match of /(a|b)*/, got an output of 100000 bytes (a regex verifier checks "
            "at most 1024)");
}

// Found by fuzz_jsonl (UBSan inside libstdc++'s regex compiler: 4444444444444444444 * 10
// overflowed): back-references and repeat counts are bounded, and so is the product of repeats
// (std::regex copies the atom of {n} n times; nested repeats multiply).
TEST(HardeningVerifier, RepeatCountsAndBackReferencesAreBounded) {
  auto error = [](const std::string& pattern) {
    try {
      Verifier::regex(pattern, "d.jsonl:1: field 'answer.value'");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << "expected an Error for /" << pattern << "/";
    return std::string();
  };
  EXPECT_EQ(error("(a)\\44444444444444444444"),
            "d.jsonl:1: field 'answer.value': regex back-reference at byte 3 is larger than the "
            "limit of 1000");
  EXPECT_EQ(error("a{1001}"),
            "d.jsonl:1: field 'answer.value': regex repeat count at byte 2 is larger than the "
            "limit of 1000");
  EXPECT_EQ(error("a{2,99999999999999999999}"),
            "d.jsonl:1: field 'answer.value': regex repeat count at byte 4 is larger than the "
            "limit of 1000");
  EXPECT_EQ(error("((a{100}){100}){11}"),
            "d.jsonl:1: field 'answer.value': regex repeats multiply to more than 100000 copies "
            "(at byte 15)");
  // Ordinary answer patterns pass and still match.
  Example ex;
  ex.source = "d.jsonl:1";
  const Verifier date = Verifier::regex(std::string("[0-9]{4}-[0-9]{2}-[0-9]{1,2}"));
  EXPECT_TRUE(date.verify(ex, "2024-05-07").correct);
  EXPECT_FALSE(date.verify(ex, "24-05-07").correct);
  const Verifier backref = Verifier::regex(std::string("(ab)\\1"));
  EXPECT_TRUE(backref.verify(ex, "abab").correct);
  EXPECT_TRUE(Verifier::regex(std::string("\\d{3} \\{x\\}")).verify(ex, "123 {x}").correct);
}

// Found by fuzz_jsonl (a 26 s timeout matching "a"): std::regex backtracks, so an unbounded
// repeat of a group that repeats without bound takes exponential time. Such patterns, and a
// repeat of a repeat, are refused; bounded and lazy forms pass.
TEST(HardeningVerifier, NestedUnboundedRepeatsAreRefused) {
  auto error = [](const std::string& pattern) {
    try {
      Verifier::regex(pattern, "v");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error("(a+)+b"),
            "v: regex repeats without bound a group that repeats without bound, like (a+)+, which "
            "can take exponential time (at byte 4)");
  EXPECT_NE(error("((x*y)){2,}").find("repeats without bound a group"), std::string::npos);
  EXPECT_EQ(error("a[b]++"), "v: regex repeats a repeat (at byte 5)");
  for (const char* ok : {"(ab+)?", "a+?b*?", "(a+){3}", "[(+*]+", "(\\(+)", "(a|b)*c"})
    EXPECT_EQ(error(ok), "accepted") << ok;
}
