#pragma once
/**
 * @file What initialising the UNDO token did to a model (spec §6): KL shift on held-out text,
 * initial P(UNDO), nearest neighbours, norms and timings. Plain values, Torch-free, so the GUI's
 * "Token init" panel can hold and show them.
 */
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** How the new UNDO row (embedding and, for an untied head, output row) is initialised. */
enum class TokenInitStrategy {
  kRandom,    ///< normal(0, initializer_range) of the model config
  kMean,      ///< the mean of the existing rows
  kSemantic,  ///< the mean over a word list of each word's averaged piece rows
  kHewitt,    ///< a sample from N(mean, scale * covariance) of the existing rows (Hewitt 2021)
};

/**
 * Parses "random", "mean", "semantic" or "hewitt" ("mean+noise" is accepted for hewitt).
 * Throws Error naming the value and the accepted names otherwise.
 */
TokenInitStrategy parseTokenInitStrategy(const std::string& name);

/** "random", "mean", "semantic" or "hewitt". */
std::string tokenInitStrategyName(TokenInitStrategy strategy);

/** The four strategies in the order the comparison table shows them. */
const std::vector<TokenInitStrategy>& allTokenInitStrategies();

/** One nearest neighbour of the new embedding. */
struct TokenNeighbour {
  std::int64_t id = -1;  ///< token id
  std::string text;      ///< Tokenizer::tokenText() of the id
  double cosine = 0.0;   ///< cosine similarity with the new embedding row
};

/** A word of the semantic word list that gave no row, and why. */
struct SkippedWord {
  std::string word;
  std::string reason;  ///< e.g. "tokenises to no usable pieces"
};

/**
 * The report of one initialisation. Distributions are compared at every position of the held-out
 * windows, before the token was added (p_before, over the old rows) and after (p_after, over all
 * rows):
 * - klFull: mean KL(p_before || p_after). For a new row and a tied head this equals
 *   -log(1 - P(UNDO)) per position: exactly the probability mass the new token takes away.
 * - klRenormalised: mean KL with both distributions restricted to the old vocabulary without the
 *   UNDO id and renormalised (the spec's wording). Adding a row changes no old logit unless the
 *   held-out text contains the UNDO token itself, so this is ~0 (float rounding) for every
 * strategy; it is reported as measured, and klFull is the number that separates the strategies.
 */
struct TokenInitReport {
  TokenInitStrategy strategy = TokenInitStrategy::kMean;
  std::string content;                 ///< the token's text, "<|undo|>" by default
  std::int64_t id = -1;                ///< the token's id
  bool added = false;                  ///< false when the tokenizer already had the token (re-init)
  std::int64_t vocabBefore = 0;        ///< model rows before
  std::int64_t vocabAfter = 0;         ///< and after (equal when a padded or existing row was used)
  bool tiedHead = true;                ///< false: the output row was initialised too
  std::uint64_t seed = 0;              ///< seed of random / hewitt (the head row uses seed + 1)
  double hewittScale = 1.0;            ///< covariance scale of hewitt
  std::vector<std::string> wordsUsed;  ///< semantic: the words that gave a row
  std::vector<SkippedWord> wordsSkipped;  ///< semantic: the words that did not
  std::int64_t heldOutWindows = 0;        ///< windows the KL was measured on
  std::int64_t heldOutPositions = 0;      ///< positions (tokens) in them
  double klFull = 0.0;                    ///< see the class comment (nats per position)
  double klRenormalised = 0.0;            ///< see the class comment (nats per position)
  double pUndoMean = 0.0;                 ///< mean P(UNDO) after the init, over positions
  double pUndoMax = 0.0;                  ///< largest P(UNDO) at any position
  double embeddingNorm = 0.0;             ///< L2 norm of the new embedding row
  double meanRowNorm = 0.0;               ///< mean L2 norm of the existing embedding rows
  double headNorm = 0.0;                  ///< untied head: norm of the new output row (else 0)
  double meanHeadRowNorm = 0.0;           ///< untied head: mean norm of existing output rows
  std::vector<TokenNeighbour> nearest;    ///< by cosine, most similar first
  double initMs = 0.0;                    ///< computing and writing the rows
  double reportMs = 0.0;                  ///< the held-out forwards, KL and neighbours

  /** The report as JSON (snake_case keys; the strategy by name). */
  nlohmann::json toJson() const;

  /**
   * Reads what toJson() wrote (unknown keys are ignored). Throws Error naming @p source and the
   * field when a field is missing or has the wrong type, or the strategy is unknown.
   */
  static TokenInitReport fromJson(const nlohmann::json& json, const std::string& source);
};

/** A strategy that could not be run in a comparison (for instance semantic without usable words).
 */
struct TokenInitFailure {
  TokenInitStrategy strategy = TokenInitStrategy::kMean;
  std::string message;  ///< the Error's message
};

/** The four strategies side by side (what the "Token init" panel shows). */
struct TokenInitComparison {
  std::vector<TokenInitReport> reports;    ///< in allTokenInitStrategies() order, failures left out
  std::vector<TokenInitFailure> failures;  ///< strategies that raised an Error

  /** {"reports": [...], "failures": [{"strategy", "message"}, ...]}. */
  nlohmann::json toJson() const;
};

}  // namespace nmar::core
