// The CUDA path on one GPU (label gpu): a model moved to the device computes what it computes on
// the CPU (N-MAR masks, re-used positions, both attention kernels), the KV cache pops like a stack
// there, and a bf16-autocast training step stays finite and close to fp32. Skips when LibTorch
// sees no CUDA device. NMAR_TEST_DEVICE=cpu runs the same checks with the CPU standing in for the
// device, so the test itself is exercised on machines without a GPU.
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include <torch/cuda.h>

#include "test_model_support.h"
#include "train/autocast.h"
#include "util/device.h"

namespace nmar::core {
namespace {

using testing::KernelScope;
using testing::makeModel;
using testing::maxAbsDiff;
using testing::ModelCase;
using testing::randomIds;

/** cuda:0 when LibTorch sees a GPU; the CPU under NMAR_TEST_DEVICE=cpu; else none. */
std::optional<c10::Device> testDevice() {
  const char* forced = std::getenv("NMAR_TEST_DEVICE");
  if (forced != nullptr && std::string(forced) == "cpu") return c10::Device(c10::kCPU);
  if (torch::cuda::is_available()) return c10::Device(c10::kCUDA, 0);
  return std::nullopt;
}

#define NMAR_REQUIRE_DEVICE(dev)                                                             \
  const std::optional<c10::Device> dev##Found = testDevice();                                \
  if (!dev##Found) GTEST_SKIP() << "no CUDA device (NMAR_TEST_DEVICE=cpu runs this on the CPU)"; \
  const c10::Device dev = *dev##Found

/** fp32 on a GPU may differ from the CPU by reduction order; TF32 is off in LibTorch by default. */
constexpr double kDeviceTol = 2e-4;

/** An N-MAR mask hiding keys 3 and 4 from the later queries, with stack positions. */
std::pair<at::Tensor, at::Tensor> undoneSpan(int64_t t) {
  at::Tensor mask = at::ones({t, t}, at::kBool).tril();
  at::Tensor positions = at::arange(t, at::kLong);
  for (int64_t q = 5; q < t; ++q) {
    mask[q][3] = false;
    mask[q][4] = false;
    positions[q] = q - 2;
  }
  return {mask.view({1, 1, t, t}), positions.unsqueeze(0)};
}

class GpuModelTest : public ::testing::TestWithParam<ModelCase> {
 protected:
  torch::NoGradGuard noGrad;
};

TEST_P(GpuModelTest, ForwardOnTheDeviceMatchesTheCpu) {
  NMAR_REQUIRE_DEVICE(dev);
  const ModelConfig& config = GetParam().config;
  Transformer cpu = makeModel(config, 7);
  Transformer onDevice = makeModel(config, 7);
  onDevice->to(dev);
  ASSERT_EQ(onDevice->device(), dev);
  const int64_t t = 12;
  const at::Tensor ids = randomIds(2, t, config.vocabSize, 3);
  const auto [mask, positions] = undoneSpan(t);
  ForwardOptions opt;
  opt.mask = mask;
  opt.positionIds = positions;
  const at::Tensor reference = cpu->forward(ids, opt).logits;
  EXPECT_GT(reference.abs().max().item<double>(), 1e-2);
  for (AttentionKernel kernel : {AttentionKernel::kExplicit, AttentionKernel::kLibrary}) {
    SCOPED_TRACE(attentionKernelName(kernel));
    KernelScope scope(kernel);
    const at::Tensor logits = onDevice->forward(ids, opt).logits;  // inputs move to the device
    EXPECT_EQ(logits.device(), dev);
    EXPECT_LT(maxAbsDiff(logits.cpu(), reference), kDeviceTol);
  }
  // Attention probabilities recorded on the device: rows sum to 1 and hidden keys get 0.
  opt.returnAttention = true;
  const ForwardOutput out = onDevice->forward(ids, opt);
  ASSERT_EQ(static_cast<int64_t>(out.attentions.size()), config.numLayers);
  const at::Tensor p = out.attentions.back().cpu();
  EXPECT_LT(maxAbsDiff(p.sum(-1), at::ones({2, config.numHeads, t})), 1e-5);
  EXPECT_EQ(p.select(2, t - 1).select(2, 3).abs().max().item<double>(), 0.0);
}

TEST_P(GpuModelTest, CachePopOnTheDeviceEqualsAFreshForward) {
  NMAR_REQUIRE_DEVICE(dev);
  const ModelConfig& config = GetParam().config;
  Transformer model = makeModel(config, 9);
  model->to(dev);
  const at::Tensor ids = randomIds(1, 10, config.vocabSize, 4);
  for (AttentionKernel kernel : {AttentionKernel::kExplicit, AttentionKernel::kLibrary}) {
    SCOPED_TRACE(attentionKernelName(kernel));
    KernelScope scope(kernel);
    KVCache cache(config.numLayers);
    ForwardOptions step;
    step.cache = &cache;
    model->forward(ids.narrow(1, 0, 6), step);
    model->forward(ids.narrow(1, 6, 2), step);  // two tokens that are then undone
    cache.truncate(6);                          // UNDO twice: the stack pops
    const at::Tensor after = model->forward(ids.narrow(1, 8, 2), step).logits;
    const at::Tensor survivor = at::cat({ids.narrow(1, 0, 6), ids.narrow(1, 8, 2)}, 1);
    const at::Tensor fresh = model->forward(survivor).logits.narrow(1, 6, 2);
    EXPECT_EQ(cache.length(), 8);
    EXPECT_LT(maxAbsDiff(after.cpu(), fresh.cpu()), kDeviceTol);
  }
}

TEST_P(GpuModelTest, Bf16AutocastTrainingStepIsFiniteAndCloseToFp32) {
  NMAR_REQUIRE_DEVICE(dev);
  const ModelConfig& config = GetParam().config;
  Transformer model = makeModel(config, 11);
  model->to(dev);
  model->train();
  at::AutoGradMode grad(true);
  const at::Tensor ids = randomIds(4, 16, config.vocabSize, 5).to(dev);
  auto loss = [&](bool autocast) {
    AutocastGuard guard(autocast && dev.is_cuda());
    const at::Tensor logits = model->forward(ids.narrow(1, 0, 15)).logits;
    return at::nll_loss(at::log_softmax(logits.reshape({-1, config.vocabSize}).to(at::kFloat), -1),
                        ids.narrow(1, 1, 15).reshape({-1}));
  };
  const at::Tensor fp32 = loss(false);
  model->zero_grad();
  const at::Tensor mixed = loss(true);
  mixed.backward();
  const double a = fp32.item<double>(), b = mixed.item<double>();
  EXPECT_TRUE(std::isfinite(b));
  EXPECT_GT(a, 1.0);  // a random model's loss on random tokens
  EXPECT_LT(std::abs(b - a), 0.02 * a) << "fp32 " << a << ", autocast " << b;
  double norm = 0.0;
  for (const auto& p : model->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);  // parameters stay fp32 under autocast
    EXPECT_TRUE(p.grad().isfinite().all().item<bool>());
    norm += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  EXPECT_GT(norm, 0.0);
  model->zero_grad();
}

INSTANTIATE_TEST_SUITE_P(Architectures, GpuModelTest, ::testing::ValuesIn(testing::modelCases()),
                         testing::caseName);

TEST(GpuDevice, DeviceNamesResolve) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_EQ(parseDevice("cuda"), c10::Device(c10::kCUDA, 0));
  EXPECT_EQ(parseDevice("auto"), c10::Device(c10::kCUDA, 0));
  const int count = static_cast<int>(torch::cuda::device_count());
  testing::expectErrorContaining(
      [&] { parseDevice("cuda:" + std::to_string(count)); },
      {"device 'cuda:" + std::to_string(count) + "'", std::to_string(count)});
}

}  // namespace
}  // namespace nmar::core
