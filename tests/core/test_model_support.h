#pragma once
// Shared helpers for the model tests: the configs the tests run over and small tensor utilities.
#include <ostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/attention_kernel.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "util/error.h"

namespace nmar::core::testing {

/** One architecture variant the data-driven tests run over. */
struct ModelCase {
  std::string name;
  ModelConfig config;
};

/** GPT-2 tiny; Llama with GQA (4 heads, 2 kv) and an untied head; Qwen2-style (q/k/v biases,
 * tied, a single kv head). initializer_range is raised so that attention is far from uniform. */
inline std::vector<ModelCase> modelCases() {
  const int64_t vocab = 97;
  ModelConfig gpt2 = ModelConfig::preset(ModelFamily::Gpt2, "tiny", vocab);
  gpt2.maxPositions = 64;
  gpt2.initializerRange = 0.1;

  ModelConfig llama = ModelConfig::preset(ModelFamily::Llama, "tiny", vocab);
  llama.numHeads = 4;
  llama.numKvHeads = 2;
  llama.tieWordEmbeddings = false;
  llama.initializerRange = 0.1;

  ModelConfig qwen = ModelConfig::preset(ModelFamily::Llama, "tiny", vocab);
  qwen.modelType = "qwen2";
  qwen.numKvHeads = 1;
  qwen.attentionBias = true;
  qwen.tieWordEmbeddings = true;
  qwen.ropeTheta = 1000000.0;
  qwen.initializerRange = 0.1;
  return {{"gpt2", gpt2}, {"llama_gqa_untied", llama}, {"qwen2_bias_tied", qwen}};
}

/** gtest prints a case by its name. */
inline void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

inline std::string caseName(const ::testing::TestParamInfo<ModelCase>& info) {
  return info.param.name;
}

/** A model with HF-style init from @p seed, then every parameter (biases and norm weights too)
 * perturbed so that none of them is trivially 0 or 1. */
inline Transformer makeModel(const ModelConfig& config, uint64_t seed) {
  Transformer model(config);
  model->initWeights(seed);
  torch::NoGradGuard noGrad;
  at::Generator gen = at::detail::createCPUGenerator(seed + 1000);
  for (auto& p : model->parameters()) {
    at::Tensor noise = at::empty(p.sizes()).normal_(0.0, 0.05, gen);
    p.add_(noise.to(p.scalar_type()));
  }
  model->eval();
  return model;
}

/** Random token ids `[b, q]` in [0, vocab). */
inline at::Tensor randomIds(int64_t b, int64_t q, int64_t vocab, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randint(vocab, {b, q}, gen, at::TensorOptions().dtype(at::kLong));
}

inline double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_TRUE(a.sizes().equals(b.sizes())) << a.sizes() << " vs " << b.sizes();
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/** Asserts that calling @p fn throws nmar::core::Error whose message contains every @p parts. */
template <typename Fn>
void expectErrorContaining(Fn&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an Error containing '" << parts.front() << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

/** For tests comparing the attention paths: sets the process-wide attention kernel for one
 * scope, and restores kAuto after. */
struct KernelScope {
  explicit KernelScope(AttentionKernel k) { setAttentionKernel(k); }
  ~KernelScope() { setAttentionKernel(AttentionKernel::kAuto); }
};

}  // namespace nmar::core::testing
