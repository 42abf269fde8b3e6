// bench_model_decode: tokens/s of incremental decoding (batch 1, KV cache) on the CPU for the
// small presets. Not a test: `bench_model_decode [tokens]` prints one line per architecture.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/transformer.h"

using namespace nmar::core;

int main(int argc, char** argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 256;
  const int64_t vocab = 512;
  torch::NoGradGuard noGrad;
  for (ModelFamily family : {ModelFamily::Gpt2, ModelFamily::Llama}) {
    ModelConfig config = ModelConfig::preset(family, "small", vocab);
    Transformer model(config);
    model->initWeights(1);
    model->eval();
    KVCache cache(config.numLayers);
    ForwardOptions opt;
    opt.cache = &cache;
    at::Tensor next = at::zeros({1, 1}, at::kLong);
    model->forward(next, opt);  // warm-up
    cache.clear();
    auto start = std::chrono::steady_clock::now();
    for (int64_t t = 0; t < tokens; ++t) {
      at::Tensor logits = model->forward(next, opt).logits;
      next = logits.select(1, 0).argmax(-1, /*keepdim=*/true);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s small (%lld params, vocab %lld): %lld tokens in %.3f s = %.1f tokens/s\n",
                familyName(family).c_str(), static_cast<long long>(model->parameterCount()),
                static_cast<long long>(vocab), static_cast<long long>(tokens), seconds,
                static_cast<double>(tokens) / seconds);
  }
  return 0;
}
