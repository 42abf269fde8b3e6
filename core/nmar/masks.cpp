#include "nmar/masks.h"

#include <cstring>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "util/error.h"

namespace nmar::core {

const char* attentionModeName(AttentionMode mode) {
  return mode == AttentionMode::kHard ? "hard" : "soft";
}

const at::Tensor& NmarBatch::mask(AttentionMode mode) const {
  return mode == AttentionMode::kHard ? hardMask : softMask;
}

const at::Tensor& NmarBatch::positions(AttentionMode mode) const {
  return mode == AttentionMode::kHard ? hardPositions : softPositions;
}

void fillMask(const StackAnalysis& a, AttentionMode mode, bool* mask, int T) {
  const auto stride = static_cast<std::size_t>(T);
  for (int i = 0; i < T; ++i) {
    bool* row = mask + static_cast<std::size_t>(i) * stride;
    if (i >= a.length) {
      row[i] = true;  // padded query: itself only
      continue;
    }
    if (mode == AttentionMode::kSoft) {
      std::memset(row, 1, static_cast<std::size_t>(i) + 1);
      continue;
    }
    // S_before(i) = S_before(p) + {p} = the row of p (p < i, already filled) ; then i itself.
    const int p = a.parent[static_cast<std::size_t>(i)];
    if (p >= 0) {
      std::memcpy(row, mask + static_cast<std::size_t>(p) * stride,
                  static_cast<std::size_t>(p) + 1);
    }
    row[i] = true;
  }
}

namespace {

void checkArguments(const at::Tensor& ids, const std::vector<int>& promptLengths,
                    const BatchOptions& options) {
  if (!ids.defined() || ids.dim() != 2) {
    throw Error(
        "buildNmarBatch: ids must be a [batch, seq] tensor, got " +
        (ids.defined() ? std::to_string(ids.dim()) + " dimensions" : "an undefined tensor"));
  }
  if (at::isFloatingType(ids.scalar_type()) || ids.scalar_type() == at::kBool) {
    throw Error("buildNmarBatch: ids must be an integer tensor, got " +
                std::string(c10::toString(ids.scalar_type())));
  }
  const auto B = static_cast<std::size_t>(ids.size(0));
  if (promptLengths.size() != B) {
    throw Error("buildNmarBatch: promptLengths has " + std::to_string(promptLengths.size()) +
                " entries, expected one per row (" + std::to_string(B) + ")");
  }
  if (!options.lengths.empty() && options.lengths.size() != B) {
    throw Error("buildNmarBatch: lengths has " + std::to_string(options.lengths.size()) +
                " entries, expected none or one per row (" + std::to_string(B) + ")");
  }
}

}  // namespace

NmarBatch buildNmarBatch(const at::Tensor& ids, const std::vector<int>& promptLengths,
                         std::int64_t undoId, std::int64_t padId, const BatchOptions& options) {
  checkArguments(ids, promptLengths, options);
  const at::Tensor cpuIds = ids.to(at::kCPU, at::kLong).contiguous();
  const std::int64_t B = cpuIds.size(0);
  const std::int64_t T = cpuIds.size(1);
  const std::int64_t* idData = cpuIds.data_ptr<std::int64_t>();

  NmarBatch batch;
  batch.rows.reserve(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {  // O(B*T); throws before any heavy work
    SequenceOptions seq;
    seq.padId = padId;
    seq.sequenceIndex = static_cast<int>(b);
    if (!options.lengths.empty()) seq.length = options.lengths[static_cast<std::size_t>(b)];
    batch.rows.push_back(analyzeSequence(idData + b * T, static_cast<std::size_t>(T),
                                         promptLengths[static_cast<std::size_t>(b)], undoId, seq));
  }

  const auto longOpts = at::TensorOptions().dtype(at::kLong);
  const auto boolOpts = at::TensorOptions().dtype(at::kBool);
  batch.hardPositions = at::zeros({B, T}, longOpts);
  batch.softPositions = at::zeros({B, T}, longOpts);
  batch.valid = at::zeros({B, T}, boolOpts);
  batch.deviation = at::zeros({B, T}, boolOpts);
  batch.pruned = at::zeros({B, T}, boolOpts);
  batch.targets = at::zeros({B, T}, longOpts);
  batch.targetGroup = at::zeros({B, T}, longOpts);
  batch.targetDeviation = at::zeros({B, T}, boolOpts);
  batch.lossWeight = at::zeros({B, T}, at::TensorOptions().dtype(at::kFloat));
  batch.lossWeightNaive = at::zeros({B, T}, at::TensorOptions().dtype(at::kFloat));
  // Both masks share one allocation: one large block is much cheaper to get from the system
  // allocator than two (page faults dominate the cost of a 32x512 batch otherwise).
  const std::int64_t maskCount = (options.hardMask ? 1 : 0) + (options.softMask ? 1 : 0);
  if (maskCount > 0) {
    const at::Tensor masks = at::zeros({maskCount, B, 1, T, T}, boolOpts);
    if (options.hardMask) batch.hardMask = masks[0];
    if (options.softMask) batch.softMask = masks[maskCount - 1];
  }

  LossWeightOptions masked;
  masked.promptTargets = options.promptTargets;
  LossWeightOptions naive = masked;
  naive.naive = true;

  at::parallel_for(0, B, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const StackAnalysis& a = batch.rows[static_cast<std::size_t>(b)];
      const std::int64_t* rowIds = idData + b * T;
      const std::int64_t off = b * T;
      auto* hardPos = batch.hardPositions.data_ptr<std::int64_t>() + off;
      auto* softPos = batch.softPositions.data_ptr<std::int64_t>() + off;
      auto* valid = batch.valid.data_ptr<bool>() + off;
      auto* deviation = batch.deviation.data_ptr<bool>() + off;
      auto* pruned = batch.pruned.data_ptr<bool>() + off;
      auto* targets = batch.targets.data_ptr<std::int64_t>() + off;
      auto* groups = batch.targetGroup.data_ptr<std::int64_t>() + off;
      auto* targetDev = batch.targetDeviation.data_ptr<bool>() + off;
      auto* weight = batch.lossWeight.data_ptr<float>() + off;
      auto* weightNaive = batch.lossWeightNaive.data_ptr<float>() + off;
      for (std::int64_t i = 0; i < a.length; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        hardPos[i] = a.depthBefore[ui];
        softPos[i] = i;
        valid[i] = true;
        deviation[i] = a.deviation[ui] != 0;
        pruned[i] = a.pruned[ui] != 0;
        const TargetGroup group = a.targetGroup[ui];
        groups[i] = static_cast<std::int64_t>(group);
        if (group != TargetGroup::kNone) targets[i] = rowIds[i + 1];
        targetDev[i] = group == TargetGroup::kDeviation;
        weight[i] = lossWeight(group, masked);
        weightNaive[i] = lossWeight(group, naive);
      }
      const int t = static_cast<int>(T);
      if (options.hardMask) {
        fillMask(a, AttentionMode::kHard, batch.hardMask.data_ptr<bool>() + b * T * T, t);
      }
      if (options.softMask) {
        fillMask(a, AttentionMode::kSoft, batch.softMask.data_ptr<bool>() + b * T * T, t);
      }
    }
  });

  if (!ids.device().is_cpu()) {
    for (at::Tensor* t :
         {&batch.hardMask, &batch.hardPositions, &batch.softMask, &batch.softPositions,
          &batch.valid, &batch.deviation, &batch.pruned, &batch.targets, &batch.targetGroup,
          &batch.targetDeviation, &batch.lossWeight, &batch.lossWeightNaive}) {
      if (t->defined()) *t = t->to(ids.device());
    }
  }
  return batch;
}

}  // namespace nmar::core
