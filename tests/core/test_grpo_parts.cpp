// The pure parts of GRPO: group-normalised advantages and the zero-std fraction against
// hand-computed values, the reward functions and their composition (weights, UNDO budget), token
// credit on hand-built traces (spec §7), and the [grpo]/[rewards] tables of an experiment with
// bad fields named.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "trace/trace.h"
#include "train/advantages.h"
#include "train/experiment.h"
#include "train/rewards.h"
#include "train/token_credit.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

constexpr std::int64_t kUndo = 99, kEos = 9;

/** A hand-built hard-mode trace: prompt {50}, then @p ids (kUndo pops). */
Trace traceOf(const std::vector<std::int64_t>& ids) {
  Trace t;
  t.model = "m";
  t.tokenizer = "t";
  t.promptIds = {50};
  t.undoId = kUndo;
  t.eosId = kEos;
  std::vector<std::int64_t> seq = {50};
  seq.insert(seq.end(), ids.begin(), ids.end());
  t.steps = stepsFromSequence(seq, 1, kUndo);
  return t;
}

void expectVectorNear(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}

/** An experiment with @p extra tables; a leading "kind = ..." line goes into [run]. */
ExperimentConfig parse(const std::string& extra) {
  std::string run, rest = extra;
  if (extra.rfind("kind", 0) == 0) {
    run = extra.substr(0, extra.find('\n') + 1);
    rest = extra.substr(run.size());
  }
  return parseExperiment("[run]\nname = \"g\"\n" + run + "[data]\ntask = \"addition\"\n" + rest,
                         "exp.toml");
}

}  // namespace

// --- advantages ---

TEST(GrpoAdvantages, GroupStdBatchStdAndNone) {
  // Group 0: {1, 0, 0, 1}: mean 0.5, sample std sqrt(1/3). Group 1: all 1 (no signal).
  const std::vector<double> r = {1, 0, 0, 1, 1, 1, 1, 1};
  const double g = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-4);
  expectVectorNear(groupAdvantages(r, 4, RewardScaling::kGroup), {g, -g, -g, g, 0, 0, 0, 0}, 1e-9);
  // Batch: mean 0.75, squared deviations sum 1.5, sample std sqrt(1.5 / 7).
  const double b = 0.5 / (std::sqrt(1.5 / 7.0) + 1e-4);
  expectVectorNear(groupAdvantages(r, 4, RewardScaling::kBatch), {b, -b, -b, b, 0, 0, 0, 0}, 1e-9);
  expectVectorNear(groupAdvantages(r, 4, RewardScaling::kNone), {0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0},
                   1e-12);
  EXPECT_DOUBLE_EQ(fracZeroStdGroups(r, 4), 0.5);
  EXPECT_DOUBLE_EQ(fracZeroStdGroups({0.2, 0.7, 0.3, 0.3}, 2), 0.5);
}

TEST(GrpoAdvantages, UnevenRewards) {
  // {3, 1, 2}: mean 2, sample std 1 -> A = (1, -1, 0) / 1.0001.
  expectVectorNear(groupAdvantages({3, 1, 2}, 3, RewardScaling::kGroup),
                   {1 / 1.0001, -1 / 1.0001, 0}, 1e-12);
  EXPECT_DOUBLE_EQ(meanOf({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(stdOf({3, 1, 2}), 1.0);
  EXPECT_NE(errorOf([] {
              groupAdvantages({1, 2, 3}, 2, RewardScaling::kGroup);
            }).find("group size 2 does not divide 3 rewards"),
            std::string::npos);
}

// --- token credit ---

TEST(GrpoTokenCredit, UndosOfWrongAndRightTokensAndWrongPushes) {
  // gold 1 2 3 EOS; trace: 1 5 6 U U 2 U 2 3 EOS
  //   5 is wrong at depth 1, 6 is wrong because 5 below it is; both UNDOs pop wrong tokens (+a);
  //   the third UNDO pops the right 2 (-a: useless).
  const Trace t = traceOf({1, 5, 6, kUndo, kUndo, 2, kUndo, 2, 3, kEos});
  const double a = 0.5, b = 0.1;
  const TokenCredit c = tokenCredit(t, {1, 2, 3, kEos}, a, b);
  expectVectorNear(c.credit, {0, -b, -b, a, a, 0, -a, 0, 0, 0}, 1e-12);
  EXPECT_EQ(c.usefulUndos, 2);
  EXPECT_EQ(c.uselessUndos, 1);
  EXPECT_EQ(c.wrongPushes, 2);
  EXPECT_EQ(c.wrong,
            (std::vector<bool>{false, true, true, true, true, false, false, false, false, false}));
}

TEST(GrpoTokenCredit, PastTheGoldAndAWrongPrefixAreWrong) {
  // gold 1 EOS: "1 1" pushes past the gold's token at depth 1 (EOS), "EOS" after a wrong token is
  // wrong too; popping the right first token is useless.
  const Trace t = traceOf({1, 1, kEos});
  expectVectorNear(tokenCredit(t, {1, kEos}, 1.0, 0.25).credit, {0, -0.25, -0.25}, 1e-12);
  const Trace u = traceOf({1, kUndo, 1, kEos, 4});
  expectVectorNear(tokenCredit(u, {1, kEos}, 1.0, 0.25).credit, {0, -1.0, 0, 0, -0.25}, 1e-12);
  EXPECT_TRUE(tokenCredit(traceOf({}), {1}, 1, 1).credit.empty());
}

// --- natural errors (experiment 5: does the model undo its own errors?) ---

TEST(NaturalErrors, FirstWrongPushesUndoneAtOnceLaterOrNever) {
  // gold 1 2 3 EOS; trace: 1 5 U 2 7 8 U U 3 4 EOS
  //   5: natural error, popped at once; 7: natural error, 8 on top of it is not one (the stack
  //   is already wrong); 7 is popped two steps later; 4: natural error never popped.
  const Trace t = traceOf({1, 5, kUndo, 2, 7, 8, kUndo, kUndo, 3, 4, kEos});
  const NaturalErrors e = naturalErrors(t, {1, 2, 3, kEos});
  EXPECT_EQ(e.errors, 3);
  EXPECT_EQ(e.undoneNext, 1);
  EXPECT_EQ(e.undoneLater, 2);
  EXPECT_EQ(e.pops, 3);
  EXPECT_EQ(e.uselessPops, 0);
}

TEST(NaturalErrors, ForcedDeviationsAreNotTheModelsAndUselessPopsCount) {
  // gold 1 2 EOS; trace: 1 [5 forced] U 2 U 2 EOS: the forced 5 is no natural error; the second
  // UNDO pops the right 2 (useless).
  Trace t = traceOf({1, 5, kUndo, 2, kUndo, 2, kEos});
  t.steps[1].forced = true;
  const NaturalErrors e = naturalErrors(t, {1, 2, kEos});
  EXPECT_EQ(e.errors, 0);
  EXPECT_EQ(e.undoneNext, 0);
  EXPECT_EQ(e.pops, 2);
  EXPECT_EQ(e.uselessPops, 1);
  // Stopping early is no error; writing past the gold's end is one (depth 2 wants EOS).
  EXPECT_EQ(naturalErrors(traceOf({1}), {1, 2, kEos}).errors, 0);
  EXPECT_EQ(naturalErrors(traceOf({1, 2, 3}), {1, 2, kEos}).errors, 1);
  EXPECT_EQ(naturalErrors(traceOf({}), {1}).errors, 0);
}

// --- rewards ---

TEST(GrpoRewards, EachFunctionAndTheWeightedTotal) {
  const Trace t = traceOf({1, 5, kUndo, 2, kEos});
  Verdict v;
  v.correct = true;
  v.process = 0.75;
  const CompletionFacts f = completionFacts(t, v);
  EXPECT_EQ(f.undos, 1);
  EXPECT_EQ(f.steps, 5);
  EXPECT_TRUE(f.endedWithEos);
  EXPECT_FALSE(completionFacts(traceOf({1, 2}), v).endedWithEos);
  EXPECT_EQ(outcomeReward(f), 1.0);
  EXPECT_DOUBLE_EQ(efficiencyReward(f, 0.2), -0.2);
  EXPECT_EQ(processReward(f), 0.75);
  EXPECT_EQ(formatReward(f), 1.0);

  RewardSettings s;
  s.outcome = 1.0;
  s.efficiency = 2.0;
  s.process = 0.5;
  s.format = 0.25;
  s.undoPenalty = 0.1;
  const auto fns = makeRewardFunctions(s);
  ASSERT_EQ(fns.size(), 4u);
  EXPECT_EQ(fns[1].name, "efficiency");
  RewardBreakdown r = scoreCompletion(fns, f, -1);
  expectVectorNear(r.values, {1.0, -0.1, 0.75, 1.0}, 1e-12);
  EXPECT_NEAR(r.total, 1.0 - 0.2 + 0.375 + 0.25, 1e-12);
  EXPECT_FALSE(r.overBudget);
  // Over the UNDO budget everything scores 0.
  r = scoreCompletion(fns, f, 0);
  EXPECT_TRUE(r.overBudget);
  EXPECT_EQ(r.total, 0.0);
  expectVectorNear(r.values, {0, 0, 0, 0}, 0);
  EXPECT_EQ(scoreCompletion(fns, f, 1).overBudget, false);
  // Zero weights drop a function.
  s.efficiency = 0;
  s.format = 0;
  EXPECT_EQ(makeRewardFunctions(s).size(), 2u);
}

// --- settings ---

TEST(GrpoSettings, DefaultsFollowTrl) {
  const ExperimentConfig c = parse("[grpo]\n");
  EXPECT_TRUE(c.isGrpo());
  EXPECT_EQ(c.grpo.numGenerations, 8);
  EXPECT_EQ(c.grpo.numIterations, 1);
  EXPECT_EQ(c.grpo.epsilon, 0.2);
  EXPECT_EQ(c.grpo.epsilonHigh, 0.2);
  EXPECT_EQ(c.grpo.beta, 0.0);
  EXPECT_EQ(c.grpo.scaleRewards, RewardScaling::kGroup);
  EXPECT_EQ(c.grpo.lossType, GrpoLossType::kDapo);
  EXPECT_EQ(c.grpo.temperature, 1.0);
  EXPECT_EQ(c.rewards.outcome, 1.0);
  const ExperimentConfig d = parse(
      "[grpo]\nepsilon = 0.1\nloss_type = \"dr_grpo\"\nscale_rewards = \"none\"\n"
      "token_credit = true\n[rewards]\nefficiency = 1.0\nundo_budget = 3\n");
  EXPECT_EQ(d.grpo.epsilonHigh, 0.1);  // defaults to epsilon
  EXPECT_EQ(d.grpo.lossType, GrpoLossType::kDrGrpo);
  EXPECT_EQ(d.grpo.scaleRewards, RewardScaling::kNone);
  EXPECT_TRUE(d.grpo.tokenCredit);
  EXPECT_EQ(d.rewards.undoBudget, 3);
  // The JSON form round-trips.
  EXPECT_EQ(experimentFromJson(d.toJson(), "exp.toml").toJson(), d.toJson());
}

TEST(GrpoSettings, AnSftExperimentIsUnchanged) {
  const ExperimentConfig c = parse("");
  EXPECT_FALSE(c.isGrpo());
  const nlohmann::json j = c.toJson();
  EXPECT_FALSE(j.contains("grpo"));
  EXPECT_FALSE(j.contains("rewards"));
  EXPECT_FALSE(j["run"].contains("kind"));
  EXPECT_TRUE(j["train"].contains("batch_size"));
  EXPECT_TRUE(parse("kind = \"grpo\"\n").isGrpo());
}

TEST(GrpoSettings, BadFieldsAreNamed) {
  struct Case {
    std::string toml, expected;
  };
  const std::vector<Case> cases = {
      {"[grpo]\nloss_type = \"ppo\"\n",
       "exp.toml: [grpo]: field 'loss_type': unknown value 'ppo' (expected one of grpo, dapo, "
       "dr_grpo)"},
      {"[grpo]\nnum_generations = 1\n",
       "exp.toml: [grpo]: field 'num_generations': expected an integer in [2, 4096], got 1"},
      {"[grpo]\nscale_rewards = true\n",
       "exp.toml: [grpo]: field 'scale_rewards': expected a string"},
      {"[grpo]\ntemperature = 0\n", "exp.toml: [grpo]: field 'temperature': expected a number in"},
      {"[grpo]\ntoken_credit = 1\n",
       "exp.toml: [grpo]: field 'token_credit': expected true or false, got an integer"},
      {"[grpo]\nnum_generation = 4\n", "exp.toml: [grpo]: unknown field 'num_generation'"},
      {"[rewards]\noutcome = \"yes\"\n", "exp.toml: [rewards]: field 'outcome': expected a number"},
      {"[rewards]\noutcome = 0\n", "exp.toml: [rewards]: every reward weight is 0"},
      {"[rewards]\nundo_budget = -2\n", "exp.toml: [rewards]: field 'undo_budget'"},
      {"kind = \"sft\"\n[grpo]\n", "exp.toml: [grpo]: only for a grpo run"},
      {"kind = \"ppo\"\n", "exp.toml: [run]: field 'kind': unknown value 'ppo'"},
      {"[grpo]\n[deviation]\nkind = \"random\"\n", "exp.toml: [deviation]: not used by a grpo run"},
      {"[grpo]\n[train]\nbatch_size = 4\n",
       "exp.toml: [train]: field 'batch_size': not used by a grpo run"},
  };
  for (const Case& c : cases) {
    const std::string e = errorOf([&] { parse(c.toml); });
    EXPECT_EQ(e.rfind(c.expected, 0), 0u) << "toml:\n" << c.toml << "error: " << e;
  }
}
