#pragma once
/**
 * @file Token-level credit for GRPO (spec §7), where the gold completion is known.
 *
 * A trace's steps are replayed on a stack of completion tokens. A pushed token at stack depth d
 * (0-based: the number of completion tokens below it) is **wrong** when the stack below it already
 * holds a wrong token, or when d is past the end of the gold completion, or when it differs from
 * the gold token at depth d. In other words a token is right exactly when the stack up to and
 * including it is a prefix of the gold completion (EOS included when the gold has it).
 * - a push of a wrong token earns -beta (it "later turned out wrong", whether or not it was
 *   popped afterwards);
 * - an UNDO that popped a wrong token earns +alpha (a useful UNDO);
 * - an UNDO that popped a right token earns -alpha (a useless UNDO);
 * - every other step earns 0.
 * Torch-free and pure; tests check it on hand-built traces.
 */
#include <cstdint>
#include <vector>

namespace nmar::core {

struct Trace;

/** The credit of each step of a trace and what it found. */
struct TokenCredit {
  std::vector<double> credit;  ///< one per trace step
  std::vector<bool> wrong;     ///< per step: a push of a wrong token, or a pop of one
  int usefulUndos = 0;         ///< UNDOs that popped a wrong token
  int uselessUndos = 0;        ///< UNDOs that popped a right token
  int wrongPushes = 0;         ///< pushes of wrong tokens
};

/**
 * The credit of every step of @p trace against @p gold (the gold completion's ids, EOS at the
 * end when the model should stop). See the file comment for the rule. Pops of an empty
 * completion stack (a void UNDO, which validateTrace() rejects) earn 0.
 */
TokenCredit tokenCredit(const Trace& trace, const std::vector<std::int64_t>& gold, double alpha,
                        double beta);

/** The model's own errors in one trace (see naturalErrors()). */
struct NaturalErrors {
  int errors = 0;       ///< natural errors: unforced wrong pushes onto a right stack
  int undoneNext = 0;   ///< of those, popped by the very next step
  int undoneLater = 0;  ///< of those, popped at any step before the trace ended
  int pops = 0;         ///< UNDOs that popped a completion token
  int uselessPops = 0;  ///< of those, UNDOs that popped a right token
};

/**
 * The natural errors of @p trace against @p gold, with the rule of tokenCredit(): a push is right
 * exactly when the stack up to and including it is a prefix of the gold. A **natural error** is a
 * wrong push onto a right stack that was not forced (the first wrong token, not those written on
 * top of it; a forced deviation is the evaluator's, not the model's). Pure; tested on hand-built
 * traces.
 */
NaturalErrors naturalErrors(const Trace& trace, const std::vector<std::int64_t>& gold);

}  // namespace nmar::core
