// Answer verifiers (exact, numeric with tolerances, regex full match): verdicts, details, JSON
// round trips and errors that name the field; verifyExample for JSONL-style examples.
#include <gtest/gtest.h>

#include "data/task.h"
#include "data/verifier.h"
#include "test_data_support.h"

using namespace nmar::core;
using nlohmann::json;

namespace {
Example withAnswer(const std::string& answer, const std::string& completion = "") {
  Example e;
  e.task = "jsonl";
  e.prompt = "q";
  e.completion = completion.empty() ? answer : completion;
  e.answer = answer;
  return e;
}
}  // namespace

TEST(DataVerifier, ExactComparesTrimmedText) {
  const Verifier v;
  EXPECT_EQ(v.kind(), VerifierKind::kExact);
  EXPECT_TRUE(v.verify(withAnswer("Paris"), "  Paris\n").correct);
  const Verdict no = v.verify(withAnswer("Paris"), "paris");
  EXPECT_FALSE(no.correct);
  EXPECT_EQ(no.process, 0.0);
  EXPECT_EQ(no.detail, "expected Paris, got paris");
  // An empty answer means the completion.
  Example e = withAnswer("", "the end");
  e.answer.clear();
  EXPECT_TRUE(v.verify(e, "the end").correct);
  // Its own value wins over the example's.
  EXPECT_TRUE(Verifier::exact("x").verify(withAnswer("y"), "x").correct);
}

TEST(DataVerifier, NumericHonoursAbsoluteAndRelativeTolerance) {
  const Verifier abs = Verifier::fromJson(json{{"type", "numeric"}, {"tolerance", 0.01}}, "t");
  EXPECT_TRUE(abs.verify(withAnswer("3.5"), "3.505").correct);
  EXPECT_TRUE(abs.verify(withAnswer("3.5"), " 3.50 ").correct);
  Verdict v = abs.verify(withAnswer("3.5"), "3.52");
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.detail, "expected a number within 0.01 of 3.5, got 3.52");
  v = abs.verify(withAnswer("3.5"), "three");
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.detail, "expected a number within 0.01 of 3.5, got three");
  EXPECT_FALSE(abs.verify(withAnswer("3.5"), "inf").correct);
  EXPECT_FALSE(abs.verify(withAnswer("3.5"), "0x3").correct);

  const Verifier rel =
      Verifier::fromJson(json{{"type", "numeric"}, {"tolerance", {{"rel", 0.1}}}}, "t");
  EXPECT_TRUE(rel.verify(withAnswer("1000"), "1090").correct);
  EXPECT_FALSE(rel.verify(withAnswer("1000"), "1110").correct);
  // Default tolerance: exact up to rounding.
  EXPECT_TRUE(Verifier::numeric().verify(withAnswer("42"), "42.0").correct);
  EXPECT_FALSE(Verifier::numeric().verify(withAnswer("42"), "42.001").correct);

  const Verifier own = Verifier::fromJson(json{{"type", "numeric"}, {"value", 2.5}}, "t");
  EXPECT_EQ(own.value(), std::optional<std::string>("2.5"));
  EXPECT_TRUE(own.verify(withAnswer("ignored"), "2.5").correct);
  EXPECT_DATA_ERROR(Verifier::numeric().verify(withAnswer("abc"), "1"),
                    "example: the numeric answer \"abc\" is not a number");
}

TEST(DataVerifier, RegexIsAFullMatch) {
  const Verifier v = Verifier::fromJson(json{{"type", "regex"}, {"value", "[0-9]+ (cm|mm)"}}, "t");
  EXPECT_TRUE(v.verify(withAnswer(""), "12 cm").correct);
  EXPECT_TRUE(v.verify(withAnswer(""), " 12 cm\n").correct);
  const Verdict no = v.verify(withAnswer(""), "about 12 cm");
  EXPECT_FALSE(no.correct);
  EXPECT_EQ(no.detail, "expected a match of /[0-9]+ (cm|mm)/, got about 12 cm");
  // Without a value of its own, the example's answer is the pattern.
  EXPECT_TRUE(Verifier::regex().verify(withAnswer("a+b"), "aaab").correct);
  EXPECT_DATA_ERROR(Verifier::regex().verify(withAnswer("(a"), "a"),
                    "example: answer: invalid regex /(a/");
}

TEST(DataVerifier, JsonRoundTripAndErrorsNameTheField) {
  for (const json& j :
       {json{{"type", "exact"}, {"value", "x"}},
        json{{"type", "numeric"}, {"value", "1.5"}, {"tolerance", {{"abs", 0.5}, {"rel", 0.25}}}},
        json{{"type", "regex"}, {"value", "a|b"}}}) {
    const Verifier v = Verifier::fromJson(j, "t");
    EXPECT_EQ(v.toJson(), j);
    EXPECT_EQ(Verifier::fromJson(v.toJson(), "t").toJson(), j);
  }
  EXPECT_EQ(Verifier::fromJson(json("Paris"), "t").value(), std::optional<std::string>("Paris"));
  EXPECT_FALSE(Verifier::fromJson(json{{"type", "regex"}, {"value", "a"}}, "t")
                   .withoutValue()
                   .toJson()
                   .contains("value"));

  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"type", "fuzzy"}}, "f.jsonl:3", "answer"),
                    "f.jsonl:3: field 'answer.type': unknown value 'fuzzy' (expected one of exact, "
                    "numeric, regex)");
  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"value", "x"}}, "f.jsonl:3", "answer"),
                    "f.jsonl:3: field 'answer.type': is missing");
  EXPECT_DATA_ERROR(
      Verifier::fromJson(json{{"type", "regex"}, {"value", "(a"}}, "f.jsonl:3", "answer"),
      "f.jsonl:3: field 'answer.value': invalid regex /(a/");
  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"type", "numeric"}, {"tolerance", -1}}, "f", "answer"),
                    "f: field 'answer.tolerance': expected a number in [0, 1e+300], got -1");
  EXPECT_DATA_ERROR(
      Verifier::fromJson(json{{"type", "numeric"}, {"tolerance", {{"abs", 1}, {"pct", 2}}}}, "f",
                         "answer"),
      "f: unknown field 'answer.tolerance.pct'");
  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"type", "numeric"}, {"value", "ten"}}, "f", "answer"),
                    "f: field 'answer.value': \"ten\" is not a number");
  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"type", "exact"}, {"value", 3}}, "f", "answer"),
                    "f: field 'answer.value': expected a string, got an integer");
  EXPECT_DATA_ERROR(Verifier::fromJson(json{{"type", "exact"}, {"valeu", "3"}}, "f", "answer"),
                    "f: unknown field 'answer.valeu'");
  EXPECT_DATA_ERROR(Verifier::fromJson(json::array(), "f", "answer"),
                    "f: field 'answer': expected a string or an object");
}

TEST(DataVerifier, VerifyExampleUsesTheExamplesVerifier) {
  Example e = withAnswer("3.14");
  e.source = "d.jsonl:2";
  e.verifier = json{{"type", "numeric"}, {"tolerance", 0.01}};
  EXPECT_TRUE(verifyExample(e, "3.141").correct);
  EXPECT_FALSE(verifyExample(e, "3.2").correct);
  e.verifier = nullptr;
  EXPECT_FALSE(verifyExample(e, "3.141").correct);
  EXPECT_TRUE(verifyExample(e, "3.14").correct);
  e.verifier = json{{"type", "nope"}};
  EXPECT_DATA_ERROR(verifyExample(e, "3"), "d.jsonl:2: field 'verifier.type'");
}
