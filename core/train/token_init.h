#pragma once
/**
 * @file Adding the UNDO token with a chosen initialisation (spec §6) and measuring what it does:
 * random, mean, semantic and hewitt rows for the embedding and an untied head, the KL shift on
 * held-out text, the initial P(UNDO) and the new embedding's nearest neighbours.
 */
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/pretrained.h"
#include "model/undo_token.h"
#include "train/token_init_report.h"

namespace nmar::core {

/** The spec's default word list for semantic init: delete, remove, undo, erase, back, cancel,
 * revert, backspace. */
std::vector<std::string> defaultSemanticWords();

/** How to initialise the UNDO row. */
struct TokenInitOptions {
  TokenInitStrategy strategy = TokenInitStrategy::kMean;
  /** semantic: each word is encoded as given (no space added; put one in the word for BPE
   * vocabularies that mark word starts) and its pieces' rows averaged; the word rows are then
   * averaged. Pieces that are special tokens are not used; a word with no usable piece is
   * reported in TokenInitReport::wordsSkipped. */
  std::vector<std::string> words = defaultSemanticWords();
  /** random and hewitt: the embedding row is drawn from a CPU generator seeded from this, the
   * output row of an untied head from one seeded from seed + 1. The seed is salted, so seed N does
   * not replay the stream that Transformer::initWeights(N) drew the existing rows from. */
  std::uint64_t seed = 0;
  /** hewitt: the covariance is scaled by this (> 0). */
  double hewittScale = 1.0;
  /** The token's text. */
  std::string content = kDefaultUndoToken;
  /** How many nearest neighbours the report lists. */
  int neighbours = 10;
};

/**
 * Adds @p options.content to the tokenizer of @p p (or, when it is already there, re-initialises
 * its row) and sets its embedding row, and the output row of an untied head, by the strategy.
 * "Existing rows" are the rows of the tokenizer's other ids (padded rows beyond the tokenizer and
 * the UNDO row itself are left out). The vocabulary grows by one row unless the id already has a
 * row (padded vocabularies, re-init). The report is computed in memory, before anything is saved:
 * @p heldOut holds windows of token ids (see heldOutWindows()); each is run through the model
 * before and after.
 *
 * Everything is checked before anything changes: Error (naming the checkpoint folder or the
 * option) when @p p has no tokenizer, @p heldOut is empty or has an empty window, a held-out id is
 * outside the model's rows or a window is longer than a GPT-2 model's positions, semantic has no
 * words or none of them gives a usable piece, hewitt's scale is not a positive finite number or
 * there are fewer than two existing rows, or the tokenizer has the token at an id without a row.
 * Runs on the model's device and dtype; not thread-safe (it changes @p p).
 */
TokenInitReport initUndoToken(Pretrained& p, const TokenInitOptions& options,
                              const std::vector<std::vector<std::int32_t>>& heldOut);

/**
 * Runs every strategy of allTokenInitStrategies() on its own copy of @p p's model (same device and
 * dtype), with @p base's words, seed, scale and content, and reports them side by side. @p p is not
 * changed and nothing is saved. A strategy that raises an Error (semantic without usable words) is
 * listed in failures; an Error that every strategy would raise (no tokenizer, bad held-out ids) is
 * thrown. Needs memory for one more copy of the model.
 */
TokenInitComparison compareStrategies(const Pretrained& p, const TokenInitOptions& base,
                                      const std::vector<std::vector<std::int32_t>>& heldOut);

/**
 * @p count samples from N(mean, scale * cov) of @p rows (`[n, D]`, n >= 2; cov is the unbiased
 * covariance of the rows), drawn as mean + sqrt(scale / (n - 1)) * (rows - mean)^T z with
 * z ~ N(0, I_n) from a CPU generator seeded from @p seed (salted as in TokenInitOptions::seed):
 * this has exactly that covariance and never forms the D x D matrix, so it costs O(n D) per sample
 * even for large vocabularies. Returns `[count, D]` fp32 on the rows' device. Throws Error for n <
 * 2, count < 1 or a scale that is not positive and finite.
 */
at::Tensor sampleHewittRows(const at::Tensor& rows, std::int64_t count, double scale,
                            std::uint64_t seed);

}  // namespace nmar::core
