// Transformer::forward properties, for every architecture variant: KV-cache parity, truncation,
// custom masks with position ids, attention probabilities, bf16, and input validation.
#include <set>

#include <torch/version.h>

#include "test_model_support.h"

namespace nmar::core {
namespace {

using testing::expectErrorContaining;
using testing::KernelScope;
using testing::makeModel;
using testing::maxAbsDiff;
using testing::ModelCase;
using testing::randomIds;

constexpr double kTol = 1e-5;

class ModelForwardTest : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override { model = makeModel(GetParam().config, 7); }
  int64_t vocab() const { return GetParam().config.vocabSize; }
  Transformer model{nullptr};
  torch::NoGradGuard noGrad;
};

/** Mask and positions that hide @p hidden (a set of positions) from every query after the last of
 * them, re-using position ids as N-MAR does; plus the indices that survive. */
struct Hiding {
  at::Tensor mask;       // [1, T, T] bool
  at::Tensor positions;  // [T] int64
  std::vector<int64_t> kept;
};

Hiding hide(int64_t t, const std::set<int64_t>& hidden) {
  const int64_t from = *hidden.rbegin() + 1;
  Hiding h;
  h.mask = at::ones({t, t}, at::kBool).tril();
  h.positions = at::arange(t, at::kLong);
  for (int64_t q = from; q < t; ++q) {
    for (int64_t k : hidden) h.mask[q][k] = false;
    h.positions[q] = q - static_cast<int64_t>(hidden.size());
  }
  for (int64_t i = 0; i < t; ++i)
    if (!hidden.count(i) || i >= from) h.kept.push_back(i);
  h.mask = h.mask.unsqueeze(0);
  return h;
}

TEST_P(ModelForwardTest, LogitsHaveShapeAndFp32) {
  at::Tensor ids = randomIds(2, 6, vocab(), 1);
  ForwardOutput out = model->forward(ids);
  EXPECT_TRUE(out.logits.sizes().equals({2, 6, vocab()}));
  EXPECT_EQ(out.logits.scalar_type(), at::kFloat);
  EXPECT_FALSE(out.hidden.defined());
  EXPECT_TRUE(out.attentions.empty());
  // The logits depend on the tokens (a model that ignored them would pass the parity tests).
  at::Tensor other = ids.clone();
  other[0][0] = (ids[0][0].item<int64_t>() + 1) % vocab();
  EXPECT_GT(maxAbsDiff(model->forward(other).logits, out.logits), 1e-3);
}

TEST_P(ModelForwardTest, IncrementalDecodingMatchesFullForward) {
  at::Tensor ids = randomIds(2, 12, vocab(), 2);
  at::Tensor full = model->forward(ids).logits;

  KVCache cache(GetParam().config.numLayers);
  for (int64_t t = 0; t < 12; ++t) {
    ForwardOptions opt;
    opt.cache = &cache;
    at::Tensor step = model->forward(ids.narrow(1, t, 1), opt).logits;
    EXPECT_LT(maxAbsDiff(step, full.narrow(1, t, 1)), kTol) << "token " << t;
    EXPECT_EQ(cache.length(), t + 1);
  }

  KVCache chunked(GetParam().config.numLayers);
  int64_t start = 0;
  for (int64_t size : {5, 1, 4, 2}) {
    ForwardOptions opt;
    opt.cache = &chunked;
    at::Tensor part = model->forward(ids.narrow(1, start, size), opt).logits;
    EXPECT_LT(maxAbsDiff(part, full.narrow(1, start, size)), kTol) << "chunk at " << start;
    start += size;
  }
  EXPECT_EQ(chunked.length(), 12);
}

TEST_P(ModelForwardTest, TruncateThenAppendMatchesFreshForward) {
  at::Tensor a = randomIds(2, 10, vocab(), 3);
  KVCache cache(GetParam().config.numLayers);
  ForwardOptions opt;
  opt.cache = &cache;
  model->forward(a.narrow(1, 0, 7), opt);
  model->forward(a.narrow(1, 7, 3), opt);

  at::Tensor prefix = a.narrow(1, 0, 6);
  for (int64_t keep : {6, 2, 0}) {
    cache.truncate(keep);
    at::Tensor fresh = randomIds(2, 4, vocab(), 10 + keep);
    at::Tensor got1 = model->forward(fresh.narrow(1, 0, 1), opt).logits;
    at::Tensor got2 = model->forward(fresh.narrow(1, 1, 3), opt).logits;
    at::Tensor expected =
        model->forward(at::cat({prefix.narrow(1, 0, keep), fresh}, 1)).logits.narrow(1, keep, 4);
    EXPECT_LT(maxAbsDiff(at::cat({got1, got2}, 1), expected), kTol) << "kept " << keep;
    EXPECT_EQ(cache.length(), keep + 4);
  }
}

TEST_P(ModelForwardTest, MaskWithPositionIdsEqualsRemovingTokens) {
  const int64_t t = 10;
  at::Tensor ids = randomIds(2, t, vocab(), 4);
  // Batch row 0 hides 3..4 from later queries, row 1 hides 6.
  Hiding h0 = hide(t, {3, 4}), h1 = hide(t, {6});
  ForwardOptions opt;
  opt.mask = at::stack({h0.mask, h1.mask});  // [2, 1, T, T]
  opt.positionIds = at::stack({h0.positions, h1.positions});
  at::Tensor masked = model->forward(ids, opt).logits;

  // The same with a cache: a causal chunk, then a masked chunk.
  KVCache cache(GetParam().config.numLayers);
  ForwardOptions first;
  first.cache = &cache;
  at::Tensor part1 = model->forward(ids.narrow(1, 0, 5), first).logits;
  ForwardOptions second;
  second.cache = &cache;
  second.mask = opt.mask.narrow(2, 5, 5);
  second.positionIds = opt.positionIds.narrow(1, 5, 5);
  at::Tensor part2 = model->forward(ids.narrow(1, 5, 5), second).logits;
  EXPECT_LT(maxAbsDiff(at::cat({part1, part2}, 1), masked), kTol);

  const Hiding* hs[] = {&h0, &h1};
  for (int64_t b = 0; b < 2; ++b) {
    at::Tensor keptIdx = at::tensor(hs[b]->kept, at::kLong);
    at::Tensor compact = ids[b].index_select(0, keptIdx).unsqueeze(0);
    at::Tensor expected = model->forward(compact).logits[0];
    at::Tensor got = masked[b].index_select(0, keptIdx);
    EXPECT_LT(maxAbsDiff(got, expected), kTol) << "batch row " << b;
  }
  // Hiding really changes the result (the test would pass trivially otherwise).
  EXPECT_GT(maxAbsDiff(model->forward(ids).logits.narrow(1, 5, 5), masked.narrow(1, 5, 5)), 1e-3);
}

TEST_P(ModelForwardTest, AttentionProbabilitiesSumToOneOverVisibleKeys) {
  const int64_t t = 9;
  at::Tensor ids = randomIds(2, t, vocab(), 5);
  Hiding h = hide(t, {2, 3, 4});
  ForwardOptions opt;
  opt.mask = h.mask.unsqueeze(0);  // [1, 1, T, T], broadcast over the batch
  opt.positionIds = h.positions.unsqueeze(0);
  opt.returnAttention = true;
  opt.returnHidden = true;
  ForwardOutput out = model->forward(ids, opt);
  const ModelConfig& c = GetParam().config;
  ASSERT_EQ(static_cast<int64_t>(out.attentions.size()), c.numLayers);
  EXPECT_TRUE(out.hidden.sizes().equals({2, t, c.hiddenSize}));
  at::Tensor visible = opt.mask.expand({2, c.numHeads, t, t});
  for (const at::Tensor& p : out.attentions) {
    ASSERT_TRUE(p.sizes().equals({2, c.numHeads, t, t}));
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_LT(maxAbsDiff(p.sum(-1), at::ones({2, c.numHeads, t})), 1e-5);
    EXPECT_EQ(p.masked_select(visible.logical_not()).abs().max().item<float>(), 0.0f);
    EXPECT_GT(p.masked_select(visible).min().item<float>(), 0.0f);
  }
  // Query 0 sees only itself.
  EXPECT_LT(maxAbsDiff(out.attentions[0].select(2, 0).select(2, 0), at::ones({2, c.numHeads})),
            1e-6);
}

TEST_P(ModelForwardTest, LibraryAttentionAgreesWithTheExplicitPath) {
  // The N-MAR case: hidden (undone) keys, re-used position ids, a broadcast mask; grouped-query
  // heads in the Llama/Qwen cases. Forward logits, incremental decoding, and gradients.
  const int64_t t = 10;
  at::Tensor ids = randomIds(3, t, vocab(), 11);
  Hiding h = hide(t, {3, 4});
  ForwardOptions opt;
  opt.mask = h.mask.unsqueeze(0);
  opt.positionIds = h.positions.unsqueeze(0);
  auto logitsWith = [&](AttentionKernel kernel, const ForwardOptions& o) {
    KernelScope scope(kernel);
    return model->forward(ids, o).logits;
  };
  const at::Tensor explicitLogits = logitsWith(AttentionKernel::kExplicit, opt);
  EXPECT_LT(maxAbsDiff(logitsWith(AttentionKernel::kLibrary, opt), explicitLogits), kTol);
  EXPECT_GT(explicitLogits.abs().max().item<double>(), 1e-2);  // not a comparison of zeros

  // A query with no visible key at all: uniform on both paths, never NaN.
  ForwardOptions blind;
  blind.mask = at::ones({1, 1, t, t}, at::kBool).tril();
  blind.mask[0][0][t - 1].fill_(false);
  const at::Tensor blindLibrary = logitsWith(AttentionKernel::kLibrary, blind);
  EXPECT_TRUE(blindLibrary.isfinite().all().item<bool>());
  EXPECT_LT(maxAbsDiff(blindLibrary, logitsWith(AttentionKernel::kExplicit, blind)), kTol);

  // Attention probabilities are asked for: the explicit path runs whatever the setting.
  {
    KernelScope scope(AttentionKernel::kLibrary);
    ForwardOptions withProbs = opt;
    withProbs.returnAttention = true;
    ForwardOutput out = model->forward(ids, withProbs);
    EXPECT_EQ(static_cast<int64_t>(out.attentions.size()), GetParam().config.numLayers);
    EXPECT_LT(maxAbsDiff(out.logits, explicitLogits), kTol);
  }

  // Incremental decoding through the cache (one query: no mask; then a causal chunk).
  const at::Tensor whole = logitsWith(AttentionKernel::kExplicit, ForwardOptions{});
  for (AttentionKernel kernel : {AttentionKernel::kExplicit, AttentionKernel::kLibrary}) {
    SCOPED_TRACE(attentionKernelName(kernel));
    KernelScope scope(kernel);
    KVCache cache(GetParam().config.numLayers);
    ForwardOptions step;
    step.cache = &cache;
    at::Tensor first = model->forward(ids.narrow(1, 0, 6), step).logits;
    at::Tensor next = model->forward(ids.narrow(1, 6, 1), step).logits;
    at::Tensor rest = model->forward(ids.narrow(1, 7, 3), step).logits;
    EXPECT_LT(maxAbsDiff(at::cat({first, next, rest}, 1), whole), kTol);
  }

  // Gradients: the same loss through either path gives the same parameter gradients.
  at::AutoGradMode grad(true);
  auto gradients = [&](AttentionKernel kernel) {
    KernelScope scope(kernel);
    model->zero_grad();
    model->forward(ids, opt).logits.logsumexp(-1).sum().backward();
    std::vector<at::Tensor> g;
    for (const auto& p : model->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  const std::vector<at::Tensor> ge = gradients(AttentionKernel::kExplicit);
  const std::vector<at::Tensor> gl = gradients(AttentionKernel::kLibrary);
  ASSERT_EQ(ge.size(), gl.size());
  double largest = 0.0;
  for (std::size_t i = 0; i < ge.size(); ++i) {
    EXPECT_LT(maxAbsDiff(gl[i], ge[i]), 1e-4) << "parameter " << i;
    largest = std::max(largest, ge[i].abs().max().item<double>());
  }
  EXPECT_GT(largest, 1e-3);
  model->zero_grad();
}

TEST(AttentionKernel, AutoResolvesByLibTorchVersionAndNamesParse) {
  EXPECT_EQ(resolveAttentionKernel(AttentionKernel::kExplicit), AttentionKernel::kExplicit);
  EXPECT_EQ(resolveAttentionKernel(AttentionKernel::kLibrary), AttentionKernel::kLibrary);
  EXPECT_EQ(resolveAttentionKernel(AttentionKernel::kAuto),
            TORCH_VERSION_MAJOR >= 2 ? AttentionKernel::kLibrary : AttentionKernel::kExplicit);
  EXPECT_EQ(attentionKernel(), AttentionKernel::kAuto);  // the default
  for (AttentionKernel k :
       {AttentionKernel::kAuto, AttentionKernel::kExplicit, AttentionKernel::kLibrary})
    EXPECT_EQ(parseAttentionKernel(attentionKernelName(k)), k);
  expectErrorContaining([] { parseAttentionKernel("flash"); },
                        {"attention kernel 'flash'", "auto, explicit or library"});
}

TEST_P(ModelForwardTest, Bf16IsCloseToFp32) {
  at::Tensor ids = randomIds(2, 12, vocab(), 6);
  at::Tensor reference = model->forward(ids).logits;
  Transformer half = makeModel(GetParam().config, 7);
  half->to(at::kBFloat16);
  EXPECT_EQ(half->dtype(), at::kBFloat16);
  ForwardOutput out = half->forward(ids);
  EXPECT_EQ(out.logits.scalar_type(), at::kFloat);
  const double scale = reference.abs().max().item<double>();
  EXPECT_LT(maxAbsDiff(out.logits, reference), 0.05 * scale + 0.05);
  // Incremental decoding in bf16 stays close to the full bf16 pass too.
  KVCache cache(GetParam().config.numLayers);
  ForwardOptions opt;
  opt.cache = &cache;
  at::Tensor first = half->forward(ids.narrow(1, 0, 8), opt).logits;
  at::Tensor rest = half->forward(ids.narrow(1, 8, 4), opt).logits;
  EXPECT_LT(maxAbsDiff(at::cat({first, rest}, 1), out.logits), 0.05 * scale + 0.05);
}

TEST_P(ModelForwardTest, RejectsMalformedInputsWithClearErrors) {
  at::Tensor ids = randomIds(1, 4, vocab(), 8);
  expectErrorContaining([&] { model->forward(ids[0]); }, {"ids", "[B, Q]"});
  expectErrorContaining([&] { model->forward(ids.to(at::kFloat)); }, {"ids", "integer"});
  at::Tensor bad = ids.clone();
  bad[0][2] = vocab();
  expectErrorContaining([&] { model->forward(bad); },
                        {"token id " + std::to_string(vocab()) + " at [0, 2]", "vocabulary"});

  KVCache cache(GetParam().config.numLayers);
  ForwardOptions opt;
  opt.cache = &cache;
  model->forward(ids, opt);
  ForwardOptions wrongK;
  wrongK.cache = &cache;
  wrongK.mask = at::ones({1, 1, 4, 4}, at::kBool);
  expectErrorContaining([&] { model->forward(ids, wrongK); },
                        {"mask", "[1, 1, 4, 4]", "K = cache length 4 + Q 4"});
  EXPECT_EQ(cache.length(), 4);  // a rejected forward leaves the cache alone
  ForwardOptions notBool;
  notBool.mask = at::ones({1, 1, 4, 4}, at::kFloat);
  expectErrorContaining([&] { model->forward(ids, notBool); }, {"mask", "bool"});
  ForwardOptions wrongPos;
  wrongPos.positionIds = at::arange(5, at::kLong).unsqueeze(0);
  expectErrorContaining([&] { model->forward(ids, wrongPos); }, {"positionIds", "[1|1, 4]"});
  ForwardOptions negative;
  negative.positionIds = at::tensor({0, 1, -2, 3}, at::kLong).unsqueeze(0);
  expectErrorContaining([&] { model->forward(ids, negative); }, {"position id -2 at [0, 2]"});
  KVCache otherBatch(GetParam().config.numLayers);
  ForwardOptions batched;
  batched.cache = &otherBatch;
  model->forward(randomIds(2, 3, vocab(), 9), batched);
  expectErrorContaining([&] { model->forward(ids, batched); }, {"batch size 2"});
  KVCache wrongLayers(GetParam().config.numLayers + 1);
  ForwardOptions layers;
  layers.cache = &wrongLayers;
  expectErrorContaining([&] { model->forward(ids, layers); }, {"cache has"});
}

INSTANTIATE_TEST_SUITE_P(Architectures, ModelForwardTest,
                         ::testing::ValuesIn(testing::modelCases()), testing::caseName);

TEST(ModelForwardGpt2, PositionsBeyondNPositionsAreRejected) {
  torch::NoGradGuard noGrad;
  Transformer model = makeModel(testing::modelCases()[0].config, 3);  // n_positions = 64
  ForwardOptions opt;
  opt.positionIds = at::tensor({0, 64}, at::kLong).unsqueeze(0);
  expectErrorContaining(
      [&] {
        model->forward(at::zeros({1, 2}, at::kLong), opt);
      },
      {"position id 64 at [0, 1]", "[0, 64)"});
  expectErrorContaining(
      [&] {
        model->forward(at::zeros({1, 65}, at::kLong));
      },
      {"65 positions", "n_positions = 64"});
  KVCache cache(2);
  ForwardOptions cached;
  cached.cache = &cache;
  model->forward(at::zeros({1, 60}, at::kLong), cached);
  expectErrorContaining(
      [&] {
        model->forward(at::zeros({1, 5}, at::kLong), cached);
      },
      {"cache 60 + 5 new"});
  EXPECT_EQ(cache.length(), 60);
}

}  // namespace
}  // namespace nmar::core
