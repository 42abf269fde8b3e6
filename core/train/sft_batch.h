#pragma once
/**
 * @file A padded SFT micro-batch from encoded sequences: ids, masks, positions and loss weights
 * (buildNmarBatch) of a range of rows. Torch header: not for viz/ or widgets/.
 */
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "data/sequence.h"
#include "nmar/masks.h"

namespace nmar::core {

/** Rows of a batch ready for the model. */
struct SftBatch {
  at::Tensor ids;           ///< [B, T] int64 on the device, right-padded with 0
  NmarBatch nmar;           ///< masks (the one of the attention mode), positions, weights
  std::int64_t tokens = 0;  ///< real (non-pad) tokens
};

/**
 * Pads rows [@p begin, @p end) of @p rows to their longest and builds the NmarBatch on
 * @p device with the mask of @p mode only; @p withMasks false skips the masks (for weight sums).
 * Throws what buildNmarBatch throws (a void UNDO names its row and position).
 */
SftBatch buildSftBatch(const std::vector<TrainingSequence>& rows, std::size_t begin,
                       std::size_t end, std::int64_t undoId, AttentionMode mode, c10::Device device,
                       bool withMasks = true);

}  // namespace nmar::core
