#include "train/sft_batch.h"

#include <algorithm>

#include <ATen/ATen.h>

namespace nmar::core {

SftBatch buildSftBatch(const std::vector<TrainingSequence>& rows, std::size_t begin,
                       std::size_t end, std::int64_t undoId, AttentionMode mode, c10::Device device,
                       bool withMasks) {
  SftBatch b;
  std::size_t T = 0;
  for (std::size_t r = begin; r < end; ++r) T = std::max(T, rows[r].ids.size());
  at::Tensor ids =
      at::zeros({static_cast<std::int64_t>(end - begin), static_cast<std::int64_t>(T)}, at::kLong);
  auto acc = ids.accessor<std::int64_t, 2>();
  BatchOptions options;
  std::vector<int> prompts;
  for (std::size_t r = begin; r < end; ++r) {
    const auto& seq = rows[r].ids;
    std::copy(seq.begin(), seq.end(), &acc[static_cast<std::int64_t>(r - begin)][0]);
    options.lengths.push_back(static_cast<int>(seq.size()));
    prompts.push_back(rows[r].promptLength);
    b.tokens += static_cast<std::int64_t>(seq.size());
  }
  options.hardMask = withMasks && mode == AttentionMode::kHard;
  options.softMask = withMasks && mode == AttentionMode::kSoft;
  b.ids = ids.to(device);
  b.nmar = buildNmarBatch(b.ids, prompts, undoId, -1, options);
  return b;
}

}  // namespace nmar::core
