#pragma once
/** @file The "addition" task: multi-digit addition, difficulty = digits per operand. */
#include "data/task.h"

namespace nmar::core {

/**
 * Prompt "123+456=", completion and answer "579". Each operand has exactly `difficulty` digits
 * (no leading zero unless it is the single digit 0); difficulty 1..32; sums of any size are exact
 * (decimal string arithmetic). Parameters: {"operands": 2..8 (default 2), "reverse": bool (default
 * false: the sum is written least significant digit first, "123+459=285" for 582),
 * "reverse_operands": bool (default false: the operands are written least significant digit first
 * too, "321+954=285" for 123+459; with "reverse" every digit of the sum then sits at a fixed
 * distance from the two digits it adds; see experiments/addition4-pretrain.toml for what it did)}.
 * verify(): the trimmed output must equal the answer ("expected 579, got 578").
 */
class AdditionTask final : public Task {
 public:
  /** Reads @p params (null or an object); Error "task 'addition': field '...'" when invalid. */
  explicit AdditionTask(const nlohmann::json& params = {});

  // Task (see task.h for the contracts).
  std::string name() const override { return "addition"; }
  Example generate(std::mt19937_64& rng, int difficulty) const override;
  Verdict verify(const Example& example, const std::string& output) const override;
  int minDifficulty() const override { return 1; }
  int maxDifficulty() const override { return 32; }
  /** Accepts "A+B=" with 2..8 operands of decimal digits (leading zeros allowed), written in the
   *  task's order (least significant digit first with "reverse_operands"). */
  Example fromPrompt(const std::string& prompt) const override;
  nlohmann::json params() const override;

 private:
  Example make(const std::vector<std::string>& operands, int difficulty) const;

  int m_operands = 2;
  bool m_reverse = false;
  bool m_reverseOperands = false;
};

/** The decimal sum of non-negative decimal integers @p a and @p b (any length; no leading zeros).
 */
std::string addDecimal(const std::string& a, const std::string& b);

}  // namespace nmar::core
