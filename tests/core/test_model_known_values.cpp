// Known-value checks computed by hand in double precision: RoPE against its closed form, explicit
// grouped-query attention against loops, and one-layer models whose blocks are switched off.
#include <cmath>

#include "model/attention.h"
#include "model/layers.h"
#include "test_model_support.h"

namespace nmar::core {
namespace {

using testing::maxAbsDiff;

TEST(ModelKnownValues, RopeMatchesClosedForm) {
  const int64_t dh = 8;
  const double theta = 10000.0;
  at::Tensor x = at::arange(1, dh + 1, at::kFloat).view({1, 1, 1, dh}) * 0.25;
  for (int64_t p : {0, 1, 5, 37}) {
    auto [cos, sin] = ropeTables(at::full({1, 1}, p, at::kLong), dh, theta, at::kFloat);
    at::Tensor got = applyRope(x, cos, sin).view({dh});
    for (int64_t i = 0; i < dh / 2; ++i) {
      const double angle = static_cast<double>(p) * std::pow(theta, -2.0 * i / dh);
      const double a = x.view({dh})[i].item<double>(), b = x.view({dh})[i + dh / 2].item<double>();
      EXPECT_NEAR(got[i].item<double>(), a * std::cos(angle) - b * std::sin(angle), 1e-5)
          << "p=" << p << " i=" << i;
      EXPECT_NEAR(got[i + dh / 2].item<double>(), b * std::cos(angle) + a * std::sin(angle), 1e-5)
          << "p=" << p << " i=" << i;
    }
  }
  // Relative property: <R(p)q, R(s)k> depends on p - s only.
  at::Generator gen = at::detail::createCPUGenerator(1);
  at::Tensor q = at::randn({1, 1, 1, dh}, gen), k = at::randn({1, 1, 1, dh}, gen);
  auto rot = [&](const at::Tensor& t, int64_t p) {
    auto [c, s] = ropeTables(at::full({1, 1}, p, at::kLong), dh, theta, at::kFloat);
    return applyRope(t, c, s);
  };
  const double d1 = (rot(q, 9) * rot(k, 4)).sum().item<double>();
  const double d2 = (rot(q, 25) * rot(k, 20)).sum().item<double>();
  EXPECT_NEAR(d1, d2, 1e-4);
}

TEST(ModelKnownValues, AttendMatchesLoopsWithGroupedHeads) {
  const int64_t b = 2, h = 4, hkv = 2, nq = 3, nk = 5, dh = 4;
  at::Generator gen = at::detail::createCPUGenerator(42);
  at::Tensor q = at::randn({b, h, nq, dh}, gen), k = at::randn({b, hkv, nk, dh}, gen),
             v = at::randn({b, hkv, nk, dh}, gen);
  at::Tensor visible = at::rand({b, 1, nq, nk}, gen) > 0.4;
  visible.select(3, 0).fill_(true);  // every query sees at least one key
  at::Tensor probs;
  at::Tensor out = attend(q, k, v, visible.logical_not(), &probs);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t hi = 0; hi < h; ++hi)
      for (int64_t qi = 0; qi < nq; ++qi) {
        const int64_t g = hi / (h / hkv);
        std::vector<double> w(nk, 0.0);
        double total = 0.0;
        for (int64_t ki = 0; ki < nk; ++ki) {
          if (!visible[bi][0][qi][ki].item<bool>()) continue;
          double s = 0.0;
          for (int64_t d = 0; d < dh; ++d)
            s += q[bi][hi][qi][d].item<double>() * k[bi][g][ki][d].item<double>();
          w[ki] = std::exp(s / std::sqrt(static_cast<double>(dh)));
          total += w[ki];
        }
        for (int64_t ki = 0; ki < nk; ++ki)
          EXPECT_NEAR(probs[bi][hi][qi][ki].item<double>(), w[ki] / total, 1e-6);
        for (int64_t d = 0; d < dh; ++d) {
          double o = 0.0;
          for (int64_t ki = 0; ki < nk; ++ki) o += w[ki] / total * v[bi][g][ki][d].item<double>();
          EXPECT_NEAR(out[bi][hi][qi][d].item<double>(), o, 1e-5);
        }
      }
}

TEST(ModelKnownValues, GeluNewIsTheTanhApproximation) {
  at::Tensor x = at::tensor({-3.0, -0.5, 0.0, 0.7, 2.5}, at::kFloat);
  at::Tensor y = activation(x, "gelu_new");
  for (int64_t i = 0; i < 5; ++i) {
    const double v = x[i].item<double>();
    const double expected =
        0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(y[i].item<double>(), expected, 1e-6);
  }
  EXPECT_NEAR(activation(x, "silu")[3].item<double>(), 0.7 / (1.0 + std::exp(-0.7)), 1e-6);
}

/** Zeroes every output projection so that each block adds nothing: x stays the embedding. */
void switchOffBlocks(Transformer& model) {
  for (auto& item : model->named_parameters()) {
    const std::string& n = item.key();
    if (n.find("c_proj") != std::string::npos || n.find("o_proj") != std::string::npos ||
        n.find("down_proj") != std::string::npos)
      item.value().zero_();
  }
}

TEST(ModelKnownValues, OneLayerLlamaWithSilentBlockIsRmsNormTimesEmbeddings) {
  torch::NoGradGuard noGrad;
  ModelConfig c = ModelConfig::preset(ModelFamily::Llama, "tiny", 11);
  c.numLayers = 1;
  Transformer model = testing::makeModel(c, 5);
  switchOffBlocks(model);
  TensorMap sd = model->stateDict();
  const at::Tensor e = sd.at("model.embed_tokens.weight").to(at::kDouble);
  const at::Tensor w = sd.at("model.norm.weight").to(at::kDouble);
  at::Tensor ids = at::tensor({3, 7, 3}, at::kLong).unsqueeze(0);
  at::Tensor logits = model->forward(ids).logits[0];
  for (int64_t t = 0; t < 3; ++t) {
    at::Tensor x = e[ids[0][t].item<int64_t>()];
    at::Tensor normed = x / std::sqrt((x * x).mean().item<double>() + c.normEps) * w;
    at::Tensor expected = at::matmul(e, normed);  // tied head
    EXPECT_LT(maxAbsDiff(logits[t], expected), 1e-5) << "t=" << t;
  }
}

TEST(ModelKnownValues, OneLayerGpt2WithSilentBlockIsLayerNormOfTokenPlusPosition) {
  torch::NoGradGuard noGrad;
  ModelConfig c = ModelConfig::preset(ModelFamily::Gpt2, "tiny", 13);
  c.numLayers = 1;
  Transformer model = testing::makeModel(c, 6);
  switchOffBlocks(model);
  TensorMap sd = model->stateDict();
  const at::Tensor wte = sd.at("transformer.wte.weight").to(at::kDouble);
  const at::Tensor wpe = sd.at("transformer.wpe.weight").to(at::kDouble);
  const at::Tensor g = sd.at("transformer.ln_f.weight").to(at::kDouble);
  const at::Tensor beta = sd.at("transformer.ln_f.bias").to(at::kDouble);
  at::Tensor ids = at::tensor({5, 5, 12}, at::kLong).unsqueeze(0);
  ForwardOptions opt;
  opt.positionIds = at::tensor({0, 9, 2}, at::kLong).unsqueeze(0);
  at::Tensor logits = model->forward(ids, opt).logits[0];
  for (int64_t t = 0; t < 3; ++t) {
    at::Tensor x = wte[ids[0][t].item<int64_t>()] + wpe[opt.positionIds[0][t].item<int64_t>()];
    const double mean = x.mean().item<double>();
    const double var = ((x - mean) * (x - mean)).mean().item<double>();
    at::Tensor normed = (x - mean) / std::sqrt(var + c.normEps) * g + beta;
    EXPECT_LT(maxAbsDiff(logits[t], at::matmul(wte, normed)), 1e-5) << "t=" << t;
  }
}

}  // namespace
}  // namespace nmar::core
