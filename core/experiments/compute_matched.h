#pragma once
/**
 * @file The compute-matched baseline of the claims suite (issue 9, experiment 7): on held-out
 * examples, sampled pruned decoding (UNDO allowed, hard mode) against plain sampling (UNDO masked)
 * with best-of-N (the sample with the highest log-probability) and majority vote over N samples,
 * with the generated tokens (decode steps, UNDOs included) each one costs. Torch inside the .cpp.
 */
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "train/experiment.h"

namespace nmar::core {

/** How to compare. */
struct ComputeMatchedSettings {
  int maxSamples = 8;        ///< N = 1, 2, 4, ... up to this
  double temperature = 1.0;  ///< every method samples at this temperature
};

/** Accuracy and tokens per answer of one method. */
struct ComputeMatchedPoint {
  std::string method;  ///< "pruned", "plain", "best-of-N", "majority-N"
  int samples = 1;
  double accuracy = 0.0;
  double tokensPerAnswer = 0.0;  ///< generated tokens (steps) per example, all samples together
};

/** What evaluateComputeMatched() measured. */
struct ComputeMatchedResult {
  int examples = 0;
  std::vector<ComputeMatchedPoint> points;  ///< pruned, plain, then best-of/majority by N
  /** N whose plain-sampling tokens come closest to (and not below) pruned decoding's. */
  int matchedSamples = 1;
  double matchedBestOf = 0.0, matchedMajority = 0.0;  ///< their accuracies at matchedSamples

  /** The results as metric keys: post/cm_pruned_acc, post/cm_pruned_tokens, post/cm_plain_acc,
   * post/cm_bestof<N>_acc, post/cm_majority<N>_acc, post/cm_plain<N>_tokens,
   * post/cm_matched_n, post/cm_matched_bestof_acc, post/cm_matched_majority_acc. */
  std::map<std::string, double> metrics() const;
};

/**
 * Runs the comparison on @p config's held-out examples (its eval data and seed, eval.examples of
 * them) with the model of @p checkpoint: each example decoded once with pruned decoding and
 * maxSamples times plainly (seeds differ per sample; the first N samples form best-of-N and
 * majority-N). Throws Error for a checkpoint without UNDO or tokenizer or bad eval data.
 */
ComputeMatchedResult evaluateComputeMatched(const ExperimentConfig& config,
                                            const std::filesystem::path& checkpoint,
                                            const ComputeMatchedSettings& settings);

}  // namespace nmar::core
