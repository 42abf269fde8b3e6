#pragma once
/**
 * @file Rendering trace steps as text lines, for `nmar replay` and for printing live decode events
 * the same way. Torch-free and Qt-free.
 *
 * A step line looks like (columns aligned; the marker ⟲ is an UNDO, its text the popped token):
 *   "    7  pop  ⟲ \"7\"       pos 12  depth 3  logp -0.105  H 0.412  FORCED  stack:
 * \"348+275=62\""
 */
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/trace.h"

namespace nmar::core {

/**
 * @p text in double quotes with JSON-style escapes for quotes, backslashes and control characters
 * ("\n", "\t", "\u001b", ...). Other UTF-8 is kept as it is; invalid bytes are written as "\xNN".
 */
std::string quoteText(std::string_view text);

/**
 * Follows the stack of a trace step by step, keeping the text of each live trace token, so that
 * a step can be shown with the stack it leaves behind. Not thread-safe; cheap to copy.
 */
class StackTextTracker {
 public:
  /** A tracker whose stack holds only the prompt (@p promptText is shown before the tokens). */
  explicit StackTextTracker(std::string promptText = {});

  /**
   * Applies @p step: a push appends its id and text; a pop removes the top token and returns its
   * text (a push returns ""). Throws Error "step <n>: pop with nothing to pop (void UNDO)" (with
   * @p index, 0-based) when a pop finds no trace token.
   */
  std::string apply(const TraceStep& step, int index);

  /** The prompt text followed by the live tokens' texts. */
  std::string stackText() const;
  /** The live tokens' texts (the output so far). */
  std::string outputText() const;
  /** The live trace token ids, bottom first (prompt excluded). */
  const std::vector<std::int64_t>& ids() const { return m_ids; }
  /** The number of live trace tokens. */
  int depth() const { return static_cast<int>(m_ids.size()); }

 private:
  std::string m_promptText;
  std::vector<std::int64_t> m_ids;
  std::vector<std::string> m_texts;
};

/**
 * One step as a line of text (no newline): the step @p number as given (1-based by convention),
 * push/pop, the token text quoted (for a pop "⟲" and @p poppedText, or the popped id when
 * @p poppedText is empty), position, depth, logprob, entropy and the verifier score ("v") when
 * recorded, FORCED for a forced step, VERIFIER for a pop the verifier trigger caused, and
 * @p stackText. With @p color, ANSI colours (push green, pop red, FORCED and VERIFIER yellow,
 * details dim).
 */
std::string renderStep(const TraceStep& step, int number, const std::string& stackText, bool color,
                       const std::string& poppedText = {});

/**
 * The state after step @p index (0-based) as one JSON object: step (index), kind, token, text,
 * popped and popped_text (pops), position, depth, forced, logprob / entropy / verifier_score
 * (when recorded), verifier (a pop the verifier caused),
 * stack_ids, stack_text (prompt included) and output_text, from @p tracker after apply().
 */
nlohmann::json stepStateJson(const TraceStep& step, int index, const StackTextTracker& tracker,
                             const std::string& poppedText);

}  // namespace nmar::core
