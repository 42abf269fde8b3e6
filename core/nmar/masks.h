#pragma once
/**
 * @file Batched masks, position ids and loss weights for training (spec §2, §4): the hot path.
 * Torch header: not for viz/ or widgets/.
 */
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nmar/stack_machine.h"
#include "nmar/target_group.h"

namespace nmar::core {

/** Visibility and position rule (spec §2). */
enum class AttentionMode {
  kHard,  ///< N-MAR: i sees S_before(i) and itself; pos(i) = |S_before(i)|
  kSoft,  ///< plain causal attention; pos(i) = i
};

/** "hard" / "soft". */
const char* attentionModeName(AttentionMode mode);

/** Switches of buildNmarBatch(). */
struct BatchOptions {
  /** Per-row real lengths (the rest is padding); empty: found from trailing padding ids. */
  std::vector<int> lengths;
  /** Completion-only loss off: prompt targets get weight 1 (both variants). */
  bool promptTargets = false;
  /** Build the hard mask (skip to save memory when training soft only). */
  bool hardMask = true;
  /** Build the soft (causal) mask. */
  bool softMask = true;
};

/**
 * Everything a training step needs for a batch of B sequences of T ids. Shapes: masks
 * [B,1,T,T] bool (true = query may attend key), everything else [B,T]. Row i of a mask is the
 * query at position i; the prediction at position i targets token i+1. Padding: a padded query
 * attends only itself (so softmax is defined); a padded key is never visible to a real query.
 * All tensors live on the device of the input ids.
 */
struct NmarBatch {
  at::Tensor hardMask;         ///< j visible to i iff j in S_before(i) or j == i (undefined if off)
  at::Tensor hardPositions;    ///< int64 |S_before(i)|; 0 for pads
  at::Tensor softMask;         ///< causal over real positions (undefined if off)
  at::Tensor softPositions;    ///< int64 i; 0 for pads
  at::Tensor valid;            ///< bool: real (non-pad) position
  at::Tensor deviation;        ///< bool: the token at i is popped by a later UNDO
  at::Tensor pruned;           ///< bool: the token at i is an UNDO or a deviation
  at::Tensor targets;          ///< int64 id of token i+1; 0 where there is no target
  at::Tensor targetGroup;      ///< int64 TargetGroup value of the prediction at i
  at::Tensor targetDeviation;  ///< bool: token i+1 is a deviation ("deviation likelihood")
  at::Tensor lossWeight;       ///< float: masked SFT weights (deviation targets 0)
  at::Tensor lossWeightNaive;  ///< float: naive SFT weights (deviation targets 1)
  std::vector<StackAnalysis> rows;  ///< the per-row stack analyses

  /** hardMask or softMask. */
  const at::Tensor& mask(AttentionMode mode) const;
  /** hardPositions or softPositions. */
  const at::Tensor& positions(AttentionMode mode) const;
  /** lossWeightNaive when @p naive, else lossWeight. */
  const at::Tensor& weights(bool naive) const { return naive ? lossWeightNaive : lossWeight; }
};

/**
 * Builds the batch tensors from right-padded @p ids [B,T] (any integer dtype, any device),
 * with @p promptLengths[b] prompt ids in row b. One O(T) stack pass per row, then an O(T^2)
 * mask fill in which row i copies the row of its stack parent and adds itself. Rows are filled
 * in parallel (ATen's intra-op threads). Throws Error naming the row and position for a void UNDO
 * and naming the argument for bad shapes, lengths or ids.
 */
NmarBatch buildNmarBatch(const at::Tensor& ids, const std::vector<int>& promptLengths,
                         std::int64_t undoId, std::int64_t padId = -1,
                         const BatchOptions& options = {});

/**
 * Fills one [T,T] bool mask (row-major, zero-initialised by the caller) from @p analysis:
 * hard or soft visibility for real rows, self only for padded rows. O(T^2) at most.
 */
void fillMask(const StackAnalysis& analysis, AttentionMode mode, bool* mask, int T);

}  // namespace nmar::core
