#pragma once
/**
 * @file GRPO reward functions (spec §7) as composable, weighted functions of one completion:
 * outcome (the verifier accepts the output), efficiency (-lambda per UNDO, with a budget),
 * process (the verifier's per-step partial credit) and format (the completion ended with EOS
 * within the length limit). Torch-free, pure: tests check them on hand-made facts.
 */
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"
#include "train/grpo_settings.h"

namespace nmar::core {

struct Trace;

/** What the reward functions know about one completion. */
struct CompletionFacts {
  Verdict verdict;            ///< the task verifier on the output text
  int undos = 0;              ///< pop steps of the trace
  int steps = 0;              ///< steps of the trace (pushes and pops)
  bool endedWithEos = false;  ///< the last step pushed EOS (so the decode stopped there)
};

/** The facts of @p trace judged by @p verdict (EOS is @p trace.eosId; -1: never ends so). */
CompletionFacts completionFacts(const Trace& trace, const Verdict& verdict);

/** One weighted reward function. */
struct RewardFunction {
  std::string name;  ///< "outcome", "efficiency", "process", "format"
  double weight = 1.0;
  std::function<double(const CompletionFacts&)> fn;  ///< the unweighted reward
};

/** outcome: 1 when the verdict is correct, else 0. */
double outcomeReward(const CompletionFacts& facts);
/** efficiency: -@p lambda x UNDOs. */
double efficiencyReward(const CompletionFacts& facts, double lambda);
/** process: the verdict's partial credit (the fraction of checkable steps right). */
double processReward(const CompletionFacts& facts);
/** format: 1 when the completion ended with EOS (within the length limit), else 0. */
double formatReward(const CompletionFacts& facts);

/** The functions with a non-zero weight in @p settings, in the order above. */
std::vector<RewardFunction> makeRewardFunctions(const RewardSettings& settings);

/** The rewards of one completion. */
struct RewardBreakdown {
  std::vector<double> values;  ///< unweighted, one per function (0 for all when over budget)
  double total = 0.0;          ///< sum of weight x value
  bool overBudget = false;     ///< more UNDOs than the budget: everything scores 0
};

/**
 * Scores @p facts with every function of @p functions. With @p undoBudget >= 0 and more UNDOs
 * than it, every value and the total are 0 (spec §7: beyond the budget the completion scores 0).
 */
RewardBreakdown scoreCompletion(const std::vector<RewardFunction>& functions,
                                const CompletionFacts& facts, int undoBudget);

}  // namespace nmar::core
