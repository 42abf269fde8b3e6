#pragma once
/**
 * @file The log-probabilities a model gives to the steps of decoded traces, in ONE masked forward
 * with the same visibility, position ids and sampler processing (UNDO bias, UNDO masked while
 * nothing can be popped, temperature) that the pruned decoder used: so that for the sampling
 * policy they equal the trace's own logprobs (spec §3 parity, §7 "every ratio is 1"). Torch
 * header: not for viz/ or widgets/.
 */
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/transformer.h"
#include "nmar/masks.h"

namespace nmar::core {

struct Trace;

/** How the traces were sampled (what the forward must reproduce). */
struct PolicyForwardOptions {
  std::int64_t undoId = -1;    ///< -1: no UNDO token
  double temperature = 1.0;    ///< > 0: logits are divided by it
  double undoLogitBias = 0.0;  ///< added to the UNDO logit before masking
  AttentionMode mode = AttentionMode::kHard;
  bool entropy = false;  ///< also compute the per-token entropy (detached)
};

/** Completion-aligned per-step tensors, all `[B, L]` (L = the most steps of any trace). */
struct PolicyLogprobs {
  at::Tensor logp;     ///< log p of step k's token (differentiable unless under NoGradGuard)
  at::Tensor valid;    ///< bool: step k exists
  at::Tensor sampled;  ///< bool: step k exists and was sampled (not forced)
  at::Tensor oldLogp;  ///< float: the trace's own logprob of step k (0 where it has none)
  at::Tensor entropy;  ///< float: entropy of step k's distribution (undefined unless asked)
};

/**
 * Runs @p model once over the full sequences of @p traces (prompt + every step's token: pushes,
 * popped tokens and UNDOs) with the mask and position ids of @p options.mode from buildNmarBatch,
 * and returns the processed log-probability of each step's token: logits / temperature, with
 * the UNDO logit biased and set to -inf where nothing could be popped. The prediction of step k
 * is read at the sequence position before it (after an UNDO: the UNDO's own, as in decoding).
 * Tensors live on the model's device. Throws Error for an empty batch or a void UNDO.
 */
PolicyLogprobs policyLogprobs(Transformer& model, const std::vector<const Trace*>& traces,
                              const PolicyForwardOptions& options);

}  // namespace nmar::core
