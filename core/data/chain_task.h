#pragma once
/**
 * @file The "chain" task: multi-step arithmetic evaluated left to right and written step by step,
 * difficulty = number of operations. Each step is checkable (process rewards, spec §7).
 */
#include "data/task.h"

namespace nmar::core {

/**
 * Prompt "3+4*2-1=", completion "3+4=7,7*2=14,14-1=13", steps {"3+4=7", "7*2=14", "14-1=13"},
 * answer "13". Evaluation is strictly left to right (no operator precedence). Generated chains
 * start with a value in [1, max_operand]; each operation picks an operator (uniformly among those
 * allowed that can keep the value within [0, max_value]; '*' only when it can multiply by more
 * than 1, unless nothing else is usable) and an operand in [1, max_operand] that does.
 * Difficulty 1..16. Parameters: {"max_operand": 1..999 (default 9), "max_value":
 * max_operand..1000000 (default 99), "operators": a non-empty set of '+', '-', '*' that contains
 * '*' or both '+' and '-' (default "+-*")}.
 *
 * verify(): the output is split at ','; stepsTotal = max(gold steps, output steps), stepsRight =
 * the output steps equal (trimmed) to the gold step at the same index, process = stepsRight /
 * stepsTotal. correct: the text after the output's last '=' (the whole output when it has none)
 * equals the answer. Detail: "expected 13, got 12 (2 of 3 steps right)".
 */
class ChainTask final : public Task {
 public:
  /** Reads @p params (null or an object); Error "task 'chain': field '...'" when invalid. */
  explicit ChainTask(const nlohmann::json& params = {});

  // Task (see task.h for the contracts).
  std::string name() const override { return "chain"; }
  Example generate(std::mt19937_64& rng, int difficulty) const override;
  Verdict verify(const Example& example, const std::string& output) const override;
  int minDifficulty() const override { return 1; }
  int maxDifficulty() const override { return 16; }
  /**
   * Accepts non-negative integers joined by '+', '-' or '*' and ending with '=' (1..16
   * operations); intermediate values may be negative. Error when a value overflows 64 bits.
   */
  Example fromPrompt(const std::string& prompt) const override;
  nlohmann::json params() const override;

 private:
  Example make(std::int64_t first, const std::vector<std::pair<char, std::int64_t>>& ops,
               const std::string& prompt) const;

  std::int64_t m_maxOperand = 9;
  std::int64_t m_maxValue = 99;
  std::string m_operators = "+-*";
};

}  // namespace nmar::core
