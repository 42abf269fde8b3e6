// Built-in tasks: deterministic generation, formats and difficulty, every generated example
// accepted by its own verifier, wrong outputs rejected with exact details, chain process credit,
// prompts solved back (fromPrompt), and parameter errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "data/addition_task.h"
#include "data/chain_task.h"
#include "data/random.h"
#include "data/task.h"
#include "test_data_support.h"

using namespace nmar::core;
using nmar::core::testing::inDefaultAlphabet;

namespace {

std::vector<Example> generateMany(const Task& task, std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<Example> out;
  for (int i = 0; i < count; ++i) {
    const int d =
        static_cast<int>(uniformInt(rng, task.minDifficulty(), std::min(task.maxDifficulty(), 8)));
    out.push_back(task.generate(rng, d));
  }
  return out;
}

class EveryTask : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(EveryTask, SameSeedSameExamplesOtherSeedOthers) {
  const auto task = makeTask(GetParam());
  const auto a = generateMany(*task, 42, 50);
  EXPECT_EQ(a, generateMany(*task, 42, 50));
  EXPECT_NE(a, generateMany(*task, 43, 50));
  std::set<std::string> prompts;
  for (const Example& e : a) prompts.insert(e.prompt);
  EXPECT_GT(prompts.size(), 40u) << "examples should vary";
}

TEST_P(EveryTask, GeneratedExamplesAreVerifiedCorrectAndSolvedBackFromTheirPrompt) {
  const auto task = makeTask(GetParam());
  for (const Example& e : generateMany(*task, 7, 200)) {
    EXPECT_EQ(e.task, GetParam());
    EXPECT_TRUE(inDefaultAlphabet(e.prompt + e.completion + e.answer)) << e.prompt;
    const Verdict v = task->verify(e, e.completion);
    EXPECT_TRUE(v.correct) << e.prompt << " -> " << e.completion << ": " << v.detail;
    EXPECT_DOUBLE_EQ(v.process, 1.0);
    EXPECT_EQ(v.stepsRight, v.stepsTotal);
    EXPECT_EQ(v.stepsTotal, static_cast<int>(e.steps.size()));
    // Trailing whitespace (a newline before EOS) does not matter.
    EXPECT_TRUE(task->verify(e, e.completion + "\n").correct);
    // verifyExample dispatches on the task name.
    EXPECT_TRUE(verifyExample(e, e.completion).correct);
    EXPECT_FALSE(verifyExample(e, e.completion + "0").correct) << e.prompt;
    // Solving the prompt again gives the same example.
    EXPECT_EQ(task->fromPrompt(e.prompt), e) << e.prompt;
  }
}

TEST_P(EveryTask, DifficultyOutsideTheRangeIsAnError) {
  const auto task = makeTask(GetParam());
  std::mt19937_64 rng(1);
  EXPECT_DATA_ERROR(task->generate(rng, task->maxDifficulty() + 1),
                    GetParam() + ": difficulty " + std::to_string(task->maxDifficulty() + 1) +
                        " is outside [1, " + std::to_string(task->maxDifficulty()) + "]");
  EXPECT_DATA_ERROR(task->generate(rng, 0), "is outside");
}

INSTANTIATE_TEST_SUITE_P(Data, EveryTask, ::testing::Values("addition", "sorting", "chain"));

TEST(DataTasks, NamesAndUnknownTask) {
  EXPECT_EQ(taskNames(), (std::vector<std::string>{"addition", "sorting", "chain"}));
  EXPECT_DATA_ERROR(makeTask("division"),
                    "task 'division': unknown task (expected one of addition, sorting, chain)");
}

TEST(DataTasks, AdditionFormatAndDifficulty) {
  const auto task = makeTask("addition");
  std::mt19937_64 rng(3);
  for (int d : {1, 3, 12, 32}) {
    const Example e = task->generate(rng, d);
    EXPECT_EQ(e.difficulty, d);
    const auto plus = e.prompt.find('+');
    ASSERT_NE(plus, std::string::npos);
    EXPECT_EQ(static_cast<int>(plus), d) << e.prompt;
    EXPECT_EQ(e.prompt.size(), static_cast<std::size_t>(2 * d + 2)) << e.prompt;
    EXPECT_EQ(e.prompt.back(), '=');
    EXPECT_EQ(e.answer, e.completion);
    EXPECT_TRUE(e.steps.empty());
    if (d > 1) {
      EXPECT_NE(e.prompt[0], '0');
    }
  }
  EXPECT_EQ(addDecimal("99999999999999999999", "1"), "100000000000000000000");
  EXPECT_EQ(addDecimal("007", "0"), "7");
  const Example three = makeTask("addition", {{"operands", 3}})->generate(rng, 2);
  EXPECT_EQ(std::count(three.prompt.begin(), three.prompt.end(), '+'), 2) << three.prompt;
}

TEST(DataTasks, AdditionRejectsWrongOutputsWithExactDetail) {
  const auto task = makeTask("addition");
  const Example e = task->fromPrompt("123+456=");
  EXPECT_EQ(e.completion, "579");
  EXPECT_EQ(e.difficulty, 3);
  Verdict v = task->verify(e, "578");
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.process, 0.0);
  EXPECT_EQ(v.detail, "expected 579, got 578");
  EXPECT_EQ(task->verify(e, "").detail, "expected 579, got nothing");
  EXPECT_EQ(task->verify(e, "0579").detail, "expected 579, got 0579");
  v = task->verify(e, " 579 ");
  EXPECT_TRUE(v.correct);
  EXPECT_EQ(v.detail, "ok: 579");
}

TEST(DataTasks, AdditionReversedWritesTheSumLeastSignificantDigitFirst) {
  const auto task = makeTask("addition", {{"reverse", true}});
  const Example e = task->fromPrompt("123+459=");
  EXPECT_EQ(e.completion, "285");
  EXPECT_EQ(e.answer, "285");
  EXPECT_TRUE(task->verify(e, "285").correct);
  EXPECT_EQ(task->verify(e, "582").detail, "expected 285, got 582");
  EXPECT_EQ(task->fromPrompt("999+1=").completion, "0001");
  EXPECT_EQ(task->params(), (nlohmann::json{{"operands", 2}, {"reverse", true}}));
}

TEST(DataTasks, AdditionReversedOperandsAreWrittenLeastSignificantDigitFirstToo) {
  // 123 + 459 = 582, all three written least significant digit first.
  const auto task = makeTask("addition", {{"reverse", true}, {"reverse_operands", true}});
  const Example e = task->fromPrompt("321+954=");
  EXPECT_EQ(e.prompt, "321+954=");
  EXPECT_EQ(e.completion, "285");
  EXPECT_TRUE(task->verify(e, "285").correct);
  // 1000 + 9 = 1009: "0001+9=" -> "9001"; operand digits keep their (reversed) zeros.
  EXPECT_EQ(task->fromPrompt("0001+9=").completion, "9001");
  EXPECT_EQ(task->params(),
            (nlohmann::json{{"operands", 2}, {"reverse", true}, {"reverse_operands", true}}));
  // Generated examples: reversing the prompt's operands back gives numbers whose sum, reversed,
  // is the completion; each operand has `difficulty` digits and no leading zero when read back.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 50; ++i) {
    const Example g = task->generate(rng, 4);
    const std::string p = g.prompt.substr(0, g.prompt.size() - 1);
    std::string a = p.substr(0, p.find('+')), b = p.substr(p.find('+') + 1);
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    std::reverse(a.begin(), a.end());
    std::reverse(b.begin(), b.end());
    EXPECT_NE(a[0], '0');
    std::string sum = addDecimal(a, b);
    std::reverse(sum.begin(), sum.end());
    EXPECT_EQ(g.completion, sum) << g.prompt;
  }
  // Without the option the params (and so the config hashes of old runs) are unchanged.
  EXPECT_EQ(makeTask("addition", {{"reverse", true}})->params(),
            (nlohmann::json{{"operands", 2}, {"reverse", true}}));
}

TEST(DataTasks, SortingFormatAndVerdicts) {
  const auto task = makeTask("sorting");
  const Example e = task->fromPrompt("sort 5 3 9:");
  EXPECT_EQ(e.completion, "3 5 9");
  EXPECT_EQ(e.answer, "3 5 9");
  EXPECT_EQ(e.difficulty, 3);
  EXPECT_TRUE(task->verify(e, "3 5 9").correct);
  EXPECT_TRUE(task->verify(e, " 3  5 9\n").correct);
  const Verdict v = task->verify(e, "3 9 5");
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.detail, "expected 3 5 9, got 3 9 5");
  EXPECT_EQ(task->verify(e, "3 5").detail, "expected 3 5 9, got 3 5");
  std::mt19937_64 rng(9);
  const Example g = makeTask("sorting", {{"max_value", 5}})->generate(rng, 20);
  EXPECT_EQ(g.difficulty, 20);
  EXPECT_EQ(std::count(g.completion.begin(), g.completion.end(), ' '), 19);
  for (char c : g.completion) EXPECT_TRUE(c == ' ' || (c >= '0' && c <= '5')) << g.completion;
  EXPECT_EQ(task->fromPrompt("sort 10 -2 3:").completion, "-2 3 10");
}

TEST(DataTasks, ChainIsWrittenStepByStepLeftToRight) {
  const auto task = makeTask("chain");
  const Example e = task->fromPrompt("3+4*2-1=");
  EXPECT_EQ(e.completion, "3+4=7,7*2=14,14-1=13");
  EXPECT_EQ(e.steps, (std::vector<std::string>{"3+4=7", "7*2=14", "14-1=13"}));
  EXPECT_EQ(e.answer, "13");
  EXPECT_EQ(e.difficulty, 3);
  EXPECT_EQ(task->fromPrompt("2-5*3=").completion, "2-5=-3,-3*3=-9");

  // Generated chains stay within [0, max_value] with operands in [1, max_operand].
  const auto small = makeTask("chain", {{"max_operand", 5}, {"max_value", 20}});
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    const Example g = small->generate(rng, 1 + i % 16);
    ASSERT_EQ(g.steps.size(), static_cast<std::size_t>(1 + i % 16));
    for (const std::string& s : g.steps) {
      const auto eq = s.find('=');
      const long value = std::stol(s.substr(eq + 1));
      EXPECT_GE(value, 0) << g.completion;
      EXPECT_LE(value, 20) << g.completion;
      const auto op = s.find_first_of("+-*", 1);
      const long operand = std::stol(s.substr(op + 1, eq - op - 1));
      EXPECT_GE(operand, 1) << s;
      EXPECT_LE(operand, 5) << s;
    }
  }
}

TEST(DataTasks, ChainProcessCreditOnPartiallyRightOutputs) {
  const auto task = makeTask("chain");
  const Example e = task->fromPrompt("3+4*2-1=");
  struct Case {
    std::string output;
    bool correct;
    int right, total;
    std::string detail;
  };
  const std::vector<Case> cases{
      {"3+4=7,7*2=14,14-1=13", true, 3, 3, "ok: 13 (3 of 3 steps right)"},
      {"3+4=7,7*2=15,15-1=14", false, 1, 3, "expected 13, got 14 (1 of 3 steps right)"},
      {"3+4=7,7*2=14", false, 2, 3, "expected 13, got 14 (2 of 3 steps right)"},
      {"3+4=8,8*2=16,14-1=13", true, 1, 3, "ok: 13 (1 of 3 steps right)"},
      {"3+4=7,7*2=14,14-1=13,13*1=13", true, 3, 4, "ok: 13 (3 of 4 steps right)"},
      {" 3+4=7 , 7*2=14 ,14-1=13\n", true, 3, 3, "ok: 13 (3 of 3 steps right)"},
      {"13", true, 0, 3, "ok: 13 (0 of 3 steps right)"},
      {"", false, 0, 3, "expected 13, got nothing (0 of 3 steps right)"},
  };
  for (const Case& c : cases) {
    const Verdict v = task->verify(e, c.output);
    EXPECT_EQ(v.correct, c.correct) << c.output;
    EXPECT_EQ(v.stepsRight, c.right) << c.output;
    EXPECT_EQ(v.stepsTotal, c.total) << c.output;
    EXPECT_DOUBLE_EQ(v.process, static_cast<double>(c.right) / c.total) << c.output;
    EXPECT_EQ(v.detail, c.detail) << c.output;
  }
}

TEST(DataTasks, BadParametersAndPromptsNameTheProblem) {
  EXPECT_DATA_ERROR(makeTask("addition", {{"operands", 9}}),
                    "task 'addition': field 'operands': expected an integer in [2, 8], got 9");
  EXPECT_DATA_ERROR(makeTask("addition", {{"digits", 3}}),
                    "task 'addition': unknown field 'digits' (expected one of operands, reverse, "
                    "reverse_operands)");
  EXPECT_DATA_ERROR(
      makeTask("addition", {{"reverse", "yes"}}),
      "task 'addition': field 'reverse': expected true or false, got a string \"yes\"");
  EXPECT_DATA_ERROR(makeTask("sorting", {{"max_value", "big"}}),
                    "task 'sorting': field 'max_value': expected an integer");
  EXPECT_DATA_ERROR(makeTask("chain", {{"operators", "+"}}),
                    "task 'chain': field 'operators': \"+\" cannot always stay within");
  EXPECT_DATA_ERROR(makeTask("chain", {{"operators", "+/"}}),
                    "field 'operators': unexpected character '/'");
  EXPECT_DATA_ERROR(makeTask("chain", {{"max_operand", 50}, {"max_value", 10}}),
                    "field 'max_value': expected an integer in [50, 1000000], got 10");
  EXPECT_DATA_ERROR(makeTask("chain", nlohmann::json::array()),
                    "task 'chain': expected an object, got an array");

  EXPECT_DATA_ERROR(makeTask("addition")->fromPrompt("12+34"),
                    "addition: prompt \"12+34\": does not end with '='");
  EXPECT_DATA_ERROR(makeTask("addition")->fromPrompt("12+x4="),
                    "unexpected character 'x' at offset 3");
  EXPECT_DATA_ERROR(makeTask("addition")->fromPrompt("12="), "expected 2 to 8 operands");
  EXPECT_DATA_ERROR(makeTask("sorting")->fromPrompt("sort 1 b:"),
                    "sorting: prompt \"sort 1 b:\": item 2 (\"b\") is not an integer");
  EXPECT_DATA_ERROR(makeTask("sorting")->fromPrompt("order 1 2:"), "does not start with \"sort \"");
  EXPECT_DATA_ERROR(makeTask("chain")->fromPrompt("3+="), "expected a number at offset 2");
  EXPECT_DATA_ERROR(makeTask("chain")->fromPrompt("3="), "has no operation");
  EXPECT_DATA_ERROR(makeTask("chain")->fromPrompt("999999999999999999*999999999999999999="),
                    "overflows 64-bit integers");
}

TEST(DataTasks, ExampleAndVerdictJson) {
  const Example e = makeTask("chain")->fromPrompt("1+2=");
  const nlohmann::json j = toJson(e);
  EXPECT_EQ(j["task"], "chain");
  EXPECT_EQ(j["steps"], nlohmann::json::array({"1+2=3"}));
  EXPECT_FALSE(j.contains("verifier"));
  const nlohmann::json v = toJson(makeTask("chain")->verify(e, "1+2=4"));
  EXPECT_EQ(v["correct"], false);
  EXPECT_EQ(v["steps_total"], 1);
  EXPECT_EQ(v["detail"], "expected 3, got 4 (0 of 1 steps right)");
}
