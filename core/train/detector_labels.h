#pragma once
/**
 * @file Labels for the deviation detector (issue 12), Torch-free and pure.
 *
 * - Stack labels (training traces): a pushed trace token that a later UNDO pops is a deviation
 *   (1); a pushed token that survives is 0; prompt positions, UNDOs and padding carry no label.
 * - Natural labels (the model's own outputs on verifiable tasks): the trace is compared with the
 *   gold completion as in token_credit.h: a pushed token is wrong (1) when the stack up to and
 *   including it is not a prefix of the gold, so in a plain output every token from the first
 *   wrong one onward is 1; pops carry no label.
 */
#include <cstdint>
#include <vector>

namespace nmar::core {

struct StackAnalysis;
struct Trace;

/** No label at this position (prompt, UNDO, pad, pop step). */
inline constexpr int kNoLabel = -1;

/** One label per position of the analysed sequence: 1 deviation, 0 surviving push, kNoLabel. */
std::vector<int> stackLabels(const StackAnalysis& analysis);

/**
 * stackLabels() of @p ids (prompt of @p promptLength ids, then trace tokens). Throws Error for a
 * void UNDO (naming the position), as analyzeSequence does.
 */
std::vector<int> stackLabels(const std::vector<std::int64_t>& ids, int promptLength,
                             std::int64_t undoId);

/**
 * One label per step of @p trace against @p gold (the gold completion ids, EOS at the end when
 * the model should stop): push steps 1 (wrong) or 0 (right), pop steps kNoLabel.
 */
std::vector<int> naturalLabels(const Trace& trace, const std::vector<std::int64_t>& gold);

}  // namespace nmar::core
