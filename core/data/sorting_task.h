#pragma once
/** @file The "sorting" task: sort a list of integers, difficulty = list length. */
#include "data/task.h"

namespace nmar::core {

/**
 * Prompt "sort 5 3 9:", completion and answer "3 5 9" (ascending, duplicates kept). Values are
 * uniform in [0, max_value]; difficulty (the list length) 1..32. Parameters:
 * {"max_value": 1..1000000000 (default 99)}.
 * verify(): the output's whitespace-separated items must equal the answer's
 * ("expected 3 5 9, got 3 9 5").
 */
class SortingTask final : public Task {
 public:
  /** Reads @p params (null or an object); Error "task 'sorting': field '...'" when invalid. */
  explicit SortingTask(const nlohmann::json& params = {});

  // Task (see task.h for the contracts).
  std::string name() const override { return "sorting"; }
  Example generate(std::mt19937_64& rng, int difficulty) const override;
  Verdict verify(const Example& example, const std::string& output) const override;
  int minDifficulty() const override { return 1; }
  int maxDifficulty() const override { return 32; }
  /** Accepts "sort A B ...:" with 1..32 integers (a leading '-' allowed), single spaces. */
  Example fromPrompt(const std::string& prompt) const override;
  nlohmann::json params() const override;

 private:
  Example make(const std::vector<std::int64_t>& values) const;

  std::int64_t m_maxValue = 99;
};

}  // namespace nmar::core
