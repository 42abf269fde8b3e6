#include "train/policy_logprobs.h"

#include <algorithm>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "trace/trace.h"
#include "util/error.h"

namespace nmar::core {

PolicyLogprobs policyLogprobs(Transformer& model, const std::vector<const Trace*>& traces,
                              const PolicyForwardOptions& o) {
  if (traces.empty()) throw Error("policy logprobs: no traces");
  const auto B = static_cast<std::int64_t>(traces.size());
  std::size_t T = 0, L = 1;
  for (const Trace* t : traces) {
    T = std::max(T, t->promptIds.size() + t->steps.size());
    L = std::max(L, t->steps.size());
  }
  at::Tensor ids = at::zeros({B, static_cast<std::int64_t>(T)}, at::kLong);
  const auto Ls = static_cast<std::int64_t>(L);
  at::Tensor index = at::zeros({B, Ls}, at::kLong);
  at::Tensor tokens = at::zeros({B, Ls}, at::kLong);
  at::Tensor valid = at::zeros({B, Ls}, at::kBool);
  at::Tensor sampled = at::zeros({B, Ls}, at::kBool);
  at::Tensor canPop = at::zeros({B, Ls}, at::kBool);
  at::Tensor oldLogp = at::zeros({B, Ls}, at::kFloat);
  auto idsA = ids.accessor<std::int64_t, 2>();
  auto indexA = index.accessor<std::int64_t, 2>();
  auto tokensA = tokens.accessor<std::int64_t, 2>();
  auto validA = valid.accessor<bool, 2>();
  auto sampledA = sampled.accessor<bool, 2>();
  auto canPopA = canPop.accessor<bool, 2>();
  auto oldA = oldLogp.accessor<float, 2>();
  BatchOptions options;
  std::vector<int> prompts;
  for (std::int64_t b = 0; b < B; ++b) {
    const Trace& t = *traces[static_cast<std::size_t>(b)];
    const std::vector<std::int64_t> seq = traceSequence(t);
    for (std::size_t i = 0; i < seq.size(); ++i) idsA[b][static_cast<std::int64_t>(i)] = seq[i];
    const auto m = static_cast<std::int64_t>(t.promptIds.size());
    if (m < 1) throw Error("policy logprobs: trace " + std::to_string(b) + " has no prompt");
    options.lengths.push_back(static_cast<int>(seq.size()));
    prompts.push_back(static_cast<int>(m));
    for (std::size_t k = 0; k < t.steps.size(); ++k) {
      const TraceStep& s = t.steps[k];
      const auto kk = static_cast<std::int64_t>(k);
      indexA[b][kk] = m - 1 + kk;
      tokensA[b][kk] = s.token;
      validA[b][kk] = true;
      sampledA[b][kk] = !s.forced;
      canPopA[b][kk] = k > 0 && t.steps[k - 1].depth > 0;
      oldA[b][kk] = static_cast<float>(s.logprob.value_or(0.0));
    }
  }
  options.hardMask = o.mode == AttentionMode::kHard;
  options.softMask = o.mode == AttentionMode::kSoft;
  const c10::Device device = model->device();
  ids = ids.to(device);
  NmarBatch batch = buildNmarBatch(ids, prompts, o.undoId, -1, options);
  ForwardOptions fo;
  fo.mask = batch.mask(o.mode);
  fo.positionIds = batch.positions(o.mode);
  const at::Tensor logits = model->forward(ids, fo).logits;  // [B,T,V]
  const std::int64_t V = logits.size(-1);
  index = index.to(device);
  at::Tensor x = logits.gather(1, index.unsqueeze(-1).expand({B, Ls, V})).to(at::kFloat);
  if (o.undoId >= 0) {
    const at::Tensor isUndo =
        (at::arange(V, at::TensorOptions(device).dtype(at::kLong)) == o.undoId).view({1, 1, V});
    if (o.undoLogitBias != 0.0) x = x + isUndo.to(at::kFloat) * o.undoLogitBias;
    const at::Tensor masked = isUndo & canPop.to(device).logical_not().unsqueeze(-1);
    x = at::where(masked, at::full({}, -std::numeric_limits<float>::infinity(), x.options()), x);
  }
  if (o.temperature != 1.0) x = x / o.temperature;
  const at::Tensor logpAll = at::log_softmax(x, -1);
  PolicyLogprobs out;
  out.logp = logpAll.gather(-1, tokens.to(device).unsqueeze(-1)).squeeze(-1);
  out.valid = valid.to(device);
  out.sampled = sampled.to(device);
  out.oldLogp = oldLogp.to(device);
  if (o.entropy) {
    torch::NoGradGuard noGrad;
    const at::Tensor lp = logpAll.detach();
    const at::Tensor p = lp.exp();
    out.entropy = -at::where(p > 0, p * lp, at::zeros({}, lp.options())).sum(-1);
  }
  return out;
}

}  // namespace nmar::core
