#pragma once
/**
 * @file Forced deviations (spec §3): for demos and recovery evaluation the decoder is made to push
 * a given token, or a plausible wrong one drawn from the model's own top-k, at a chosen step.
 */
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace nmar::core {

/** ForcedDeviation::token value that asks for a random wrong token from the model's top-k. */
inline constexpr std::int64_t kRandomDeviation = -1;

/** At step @c step (0-based step index of the trace), push @c token instead of sampling. */
struct ForcedDeviation {
  int step = 0;
  std::int64_t token = kRandomDeviation;  ///< a vocabulary id, or kRandomDeviation
  bool operator==(const ForcedDeviation& o) const { return step == o.step && token == o.token; }
};

/**
 * Checks @p forced against a decode of at most @p maxNewTokens steps over a vocabulary of
 * @p vocabSize ids: steps in [0, maxNewTokens) and distinct, tokens in the vocabulary (or
 * kRandomDeviation) and never the UNDO id @p undoId. Throws Error naming the entry.
 */
void validateForcedDeviations(const std::vector<ForcedDeviation>& forced, int maxNewTokens,
                              std::int64_t vocabSize, std::int64_t undoId);

/**
 * The candidates for a random deviation: the @p k most likely ids of @p logits (`[V]`, any
 * device) after its argmax, skipping the ids in @p excluded (UNDO, EOS, banned ids), most likely
 * first, with their raw probabilities (softmax of @p logits).
 */
std::vector<std::pair<std::int64_t, double>> deviationCandidates(
    const at::Tensor& logits, int k, const std::vector<std::int64_t>& excluded);

/**
 * Draws a random wrong token: one of deviationCandidates(), chosen with probability proportional
 * to its raw probability, using @p u in [0, 1). Throws Error when there is no candidate (a
 * vocabulary of one id, or everything excluded).
 */
std::int64_t drawDeviation(const at::Tensor& logits, int k,
                           const std::vector<std::int64_t>& excluded, double u);

/**
 * A small seeded generator for deviation draws, independent of the sampler's so that forcing a
 * step does not shift the sampler's random stream. SplitMix64: identical on every platform.
 */
class DeviationRng {
 public:
  explicit DeviationRng(std::uint64_t seed = 0) : m_state(seed) {}
  /** A double uniform in [0, 1) (53 random bits). */
  double uniform();

 private:
  std::uint64_t m_state;
};

}  // namespace nmar::core
