#pragma once
/**
 * @file One training/evaluation example of the data module and the verdict of a verifier on a
 * model's output (spec §7: outcome and process rewards). Torch-free.
 */
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/**
 * A prompt with its gold completion. Built-in tasks fill every field; JSONL datasets fill prompt,
 * completion, answer and verifier. Value type.
 */
struct Example {
  std::string task;                ///< task name ("addition", "sorting", "chain", "jsonl")
  std::string prompt;              ///< prompt text
  std::string completion;          ///< gold completion text (no EOS)
  std::string answer;              ///< what the verifier checks; empty => the completion
  std::vector<std::string> steps;  ///< checkable steps (chains), empty otherwise
  int difficulty = 0;
  /**
   * How a JSONL example's answer is checked: null (exact) or the object of Verifier::toJson()
   * ({"type": "numeric", "tolerance": ..., ...}); the expected value is always `answer`. Unused by
   * built-in tasks (their own verifier checks them).
   */
  nlohmann::json verifier;
  /** Where the example came from, for messages: "FILE:LINE" for datasets, "" when generated. */
  std::string source;

  /** answer, or the completion when answer is empty. */
  const std::string& expected() const { return answer.empty() ? completion : answer; }

  /** Field-wise equality. */
  bool operator==(const Example& o) const;
  /** Field-wise inequality. */
  bool operator!=(const Example& o) const { return !(*this == o); }
};

/** The verifier's judgement of one output. Value type. */
struct Verdict {
  bool correct = false;  ///< outcome: the verifier accepts the output
  double process =
      0.0;  ///< partial credit in [0,1]: fraction of steps right (= correct when no steps)
  int stepsRight = 0;  ///< steps of the output equal to the gold step at the same index
  int stepsTotal = 0;  ///< max(gold steps, output steps); 0 when the task has no steps
  std::string detail;  ///< human-readable reason ("expected 579, got 578")
};

/**
 * {"task", "prompt", "completion", "answer", "steps", "difficulty"} plus "verifier" and "source"
 * when set.
 */
nlohmann::json toJson(const Example& example);

/** {"correct", "process", "steps_right", "steps_total", "detail"}: the shape traces store. */
nlohmann::json toJson(const Verdict& verdict);

/** @p text without leading and trailing whitespace (space, tab, CR, LF, FF, VT). */
std::string_view trimWhitespace(std::string_view text);

/**
 * @p text as shown in a verdict's detail: "nothing" when empty, else the text itself, shortened
 * to 60 characters with "..." and with control characters escaped.
 */
std::string shownOutput(std::string_view text);

}  // namespace nmar::core
