#pragma once
/**
 * @file Training and evaluation samples for the deviation detector (issue 12): the frozen model's
 * final hidden states at labelled positions, with the labels of detector_labels.h. Injected
 * samples come from clean task sequences with deviations injected (stack labels); natural samples
 * from the model's own greedy outputs compared with the gold (natural labels). Torch header: not
 * for viz/ or widgets/.
 */
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/deviation.h"
#include "data/example.h"
#include "model/transformer.h"

namespace nmar::core {

class Task;
class Tokenizer;

/** Hidden states with their labels. Value type. */
struct DetectorSamples {
  at::Tensor features;     ///< `[N, D]` fp32 on the CPU
  at::Tensor labels;       ///< `[N]` fp32, 0 or 1
  int sequences = 0;       ///< sequences the samples came from
  int wrongOutputs = 0;    ///< natural samples: outputs the task verifier rejected
  int undoOutputs = 0;     ///< natural samples: outputs whose decode took an UNDO

  std::int64_t size() const { return features.defined() ? features.size(0) : 0; }
  /** Samples labelled 1. */
  std::int64_t positives() const;
  /** Appends @p other's samples and counts (features of the same width). */
  void append(const DetectorSamples& other);
};

/** How samples are made. */
struct DetectorDataSettings {
  std::int64_t undoId = -1;  ///< required (Error otherwise)
  std::int64_t eosId = -1;   ///< appended to gold sequences when >= 0
  /** Injected samples: confusable deviations in every sequence, 1-3 events of 1-2 tokens. */
  DeviationSettings deviation = [] {
    DeviationSettings d;
    d.kind = DeviationKind::kConfusable;
    d.fraction = 1.0;
    d.minEvents = 1, d.maxEvents = 3;
    d.minLength = 1, d.maxLength = 2;
    return d;
  }();
  int maxNewTokens = 0;  ///< natural decodes: 0 = 2 x the longest gold completion + 8
  int batchSize = 64;    ///< sequences per forward
};

/** @p n examples of @p task at @p difficulty from a generator seeded with @p seed. */
std::vector<Example> makeExamples(const Task& task, int difficulty, int n, std::uint64_t seed);

/**
 * Injected samples: each example is encoded, deviations are injected (@p seed drives the points
 * and tokens), and the hidden states of one hard-mask forward are kept at every pushed trace
 * token, labelled by the stack (1: popped later). Runs under a NoGradGuard in eval mode (the
 * model's mode is restored). Throws Error for a missing UNDO id or what injection throws.
 */
DetectorSamples injectedSamples(Transformer model, const Tokenizer& tokenizer,
                                const std::vector<Example>& examples,
                                const DetectorDataSettings& settings, std::uint64_t seed);

/**
 * Natural samples: each example is decoded greedily (hard mode, no verifier), every push is
 * labelled against the gold (naturalLabels), and the hidden states at the pushes come from one
 * hard-mask forward over the decoded trace (equal to the decoder's by the parity invariant).
 */
DetectorSamples naturalSamples(Transformer model, const Tokenizer& tokenizer,
                               const std::vector<Example>& examples,
                               const DetectorDataSettings& settings);

}  // namespace nmar::core
