#pragma once
/**
 * @file Post-hoc training of the deviation detector (issue 12) on the hidden states of a frozen
 * model (DetectorSamples): binary cross-entropy on the head's logits with AdamW, minibatches drawn
 * with replacement from a seeded generator, positives re-weighted to balance the classes.
 * Torch header: not for viz/ or widgets/.
 */
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "train/detector.h"
#include "train/detector_data.h"

namespace nmar::core {

/** Optimisation settings. */
struct DetectorTrainSettings {
  int steps = 500;
  int batchSize = 256;
  double lr = 3e-3;
  double weightDecay = 0.0;
  bool balance = true;  ///< pos_weight = negatives / positives
  std::uint64_t seed = 0;
};

/** Called every @p logEvery steps with the step (1-based) and the minibatch loss. */
using DetectorProgress = std::function<void(int step, double loss)>;

/**
 * Trains @p head in place on @p samples and returns the mean loss over the last 10% of steps.
 * Deterministic for a seed. Throws Error when @p samples is empty, has no positive or no negative,
 * or its width differs from the head's hidden size. Checks @p cancel (may be null) every step.
 */
double trainDetector(DetectorHead& head, const DetectorSamples& samples,
                     const DetectorTrainSettings& settings, const DetectorProgress& progress = {},
                     int logEvery = 100, const std::atomic<bool>* cancel = nullptr);

/** sigmoid(head(features)) for every sample, in order (eval, no grad). */
std::vector<double> scoreSamples(DetectorHead& head, const DetectorSamples& samples);

/** The labels of @p samples as ints (0/1). */
std::vector<int> sampleLabels(const DetectorSamples& samples);

}  // namespace nmar::core
