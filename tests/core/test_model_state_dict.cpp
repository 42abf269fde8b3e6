// Transformer parameters as a whole: Hugging Face names and layouts, strict loading, init,
// vocabulary resize and parameter counts.
#include "test_model_support.h"

namespace nmar::core {
namespace {

using testing::expectErrorContaining;
using testing::makeModel;
using testing::maxAbsDiff;
using testing::ModelCase;

void expectShape(const TensorMap& sd, const std::string& name, std::vector<int64_t> shape) {
  auto it = sd.find(name);
  ASSERT_NE(it, sd.end()) << "missing " << name;
  EXPECT_TRUE(it->second.sizes().equals(shape)) << name << " has " << it->second.sizes();
}

TensorMap cloneAll(const TensorMap& sd) {
  TensorMap out;
  for (const auto& [k, v] : sd) out[k] = v.clone();
  return out;
}

TEST(ModelStateDict, Gpt2NamesAndConv1DLayout) {
  ModelConfig c = ModelConfig::preset(ModelFamily::Gpt2, "tiny", 101);  // d=64, 2 layers
  Transformer model(c);
  TensorMap sd = model->stateDict();
  EXPECT_EQ(sd.size(), 2u + 12u * 2u + 2u);
  expectShape(sd, "transformer.wte.weight", {101, 64});
  expectShape(sd, "transformer.wpe.weight", {c.maxPositions, 64});
  expectShape(sd, "transformer.h.0.ln_1.weight", {64});
  expectShape(sd, "transformer.h.0.ln_1.bias", {64});
  expectShape(sd, "transformer.h.0.attn.c_attn.weight", {64, 192});  // Conv1D: [in, out]
  expectShape(sd, "transformer.h.0.attn.c_attn.bias", {192});
  expectShape(sd, "transformer.h.0.attn.c_proj.weight", {64, 64});
  expectShape(sd, "transformer.h.1.ln_2.bias", {64});
  expectShape(sd, "transformer.h.1.mlp.c_fc.weight", {64, 256});
  expectShape(sd, "transformer.h.1.mlp.c_fc.bias", {256});
  expectShape(sd, "transformer.h.1.mlp.c_proj.weight", {256, 64});
  expectShape(sd, "transformer.ln_f.weight", {64});
  expectShape(sd, "transformer.ln_f.bias", {64});
  EXPECT_EQ(sd.count("lm_head.weight"), 0u);  // tied
  EXPECT_EQ(model->parameterCount(),
            101 * 64 + c.maxPositions * 64 +
                2 * (4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64) +
                2 * 64);
}

TEST(ModelStateDict, LlamaAndQwen2Names) {
  auto cases = testing::modelCases();
  const ModelConfig& llama = cases[1].config;  // 4 heads, 2 kv, Dh 16, untied
  TensorMap sd = Transformer(llama)->stateDict();
  expectShape(sd, "model.embed_tokens.weight", {97, 64});
  expectShape(sd, "model.layers.0.self_attn.q_proj.weight", {64, 64});
  expectShape(sd, "model.layers.0.self_attn.k_proj.weight", {32, 64});
  expectShape(sd, "model.layers.0.self_attn.v_proj.weight", {32, 64});
  expectShape(sd, "model.layers.1.self_attn.o_proj.weight", {64, 64});
  expectShape(sd, "model.layers.1.mlp.gate_proj.weight", {176, 64});
  expectShape(sd, "model.layers.1.mlp.up_proj.weight", {176, 64});
  expectShape(sd, "model.layers.1.mlp.down_proj.weight", {64, 176});
  expectShape(sd, "model.layers.0.input_layernorm.weight", {64});
  expectShape(sd, "model.layers.0.post_attention_layernorm.weight", {64});
  expectShape(sd, "model.norm.weight", {64});
  expectShape(sd, "lm_head.weight", {97, 64});
  EXPECT_EQ(sd.count("model.layers.0.self_attn.q_proj.bias"), 0u);
  EXPECT_EQ(sd.size(), 1u + 2u * 9u + 1u + 1u);

  const ModelConfig& qwen = cases[2].config;  // q/k/v biases, 1 kv head, tied
  TensorMap sq = Transformer(qwen)->stateDict();
  expectShape(sq, "model.layers.0.self_attn.q_proj.bias", {64});
  expectShape(sq, "model.layers.0.self_attn.k_proj.bias", {16});
  expectShape(sq, "model.layers.0.self_attn.v_proj.bias", {16});
  EXPECT_EQ(sq.count("model.layers.0.self_attn.o_proj.bias"), 0u);
  EXPECT_EQ(sq.count("lm_head.weight"), 0u);
}

class ModelStateDictTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelStateDictTest, LoadThenStateIsBitIdentical) {
  torch::NoGradGuard noGrad;
  const ModelConfig& c = GetParam().config;
  TensorMap source = cloneAll(makeModel(c, 1)->stateDict());
  Transformer target = makeModel(c, 2);
  target->loadStateDict(source, "mem.safetensors");
  TensorMap loaded = target->stateDict();
  ASSERT_EQ(loaded.size(), source.size());
  for (const auto& [name, t] : source) {
    ASSERT_EQ(loaded.count(name), 1u) << name;
    EXPECT_TRUE(at::equal(loaded.at(name), t)) << name;
  }
  at::Tensor ids = testing::randomIds(1, 5, c.vocabSize, 3);
  EXPECT_TRUE(at::equal(target->forward(ids).logits, makeModel(c, 1)->forward(ids).logits));

  // bf16 checkpoint into an fp32 model and back into a bf16 model.
  TensorMap half;
  for (const auto& [name, t] : source) half[name] = t.to(at::kBFloat16);
  Transformer bf = makeModel(c, 3);
  bf->to(at::kBFloat16);
  bf->loadStateDict(half, "half.safetensors");
  for (const auto& [name, t] : bf->stateDict()) EXPECT_TRUE(at::equal(t, half.at(name))) << name;
  target->loadStateDict(half, "half.safetensors");
  EXPECT_EQ(target->dtype(), at::kFloat);
  EXPECT_TRUE(at::equal(target->stateDict().begin()->second, half.begin()->second.to(at::kFloat)));
}

TEST_P(ModelStateDictTest, LoadErrorsNameTheTensorAndLeaveTheModelAlone) {
  torch::NoGradGuard noGrad;
  const ModelConfig& c = GetParam().config;
  const bool gpt2 = c.family == ModelFamily::Gpt2;
  Transformer model = makeModel(c, 4);
  const TensorMap before = cloneAll(model->stateDict());
  TensorMap good = cloneAll(makeModel(c, 5)->stateDict());
  const std::string victim =
      gpt2 ? "transformer.h.1.ln_2.bias" : "model.layers.1.self_attn.k_proj.weight";

  TensorMap missing = good;
  missing.erase(victim);
  expectErrorContaining([&] { model->loadStateDict(missing, "ckpt/model.safetensors"); },
                        {"ckpt/model.safetensors", "missing tensor '" + victim + "'"});

  TensorMap wrongShape = good;
  const std::string attnName =
      gpt2 ? "transformer.h.0.attn.c_attn.weight" : "model.layers.0.self_attn.q_proj.weight";
  wrongShape[attnName] = good.at(attnName).t().contiguous().narrow(0, 0, 48);
  expectErrorContaining([&] { model->loadStateDict(wrongShape, "x.safetensors"); },
                        {"x.safetensors", "'" + attnName + "'", "expected [64, "});

  TensorMap extra = good;
  extra["transformer.h.0.attn.q_proj.weight"] = at::zeros({2});
  extra["model.extra_norm.weight"] = at::zeros({2});
  expectErrorContaining([&] { model->loadStateDict(extra, "y.safetensors"); },
                        {"y.safetensors", "unexpected tensors", "model.extra_norm.weight",
                         "transformer.h.0.attn.q_proj.weight"});

  TensorMap ints = good;
  ints[victim] = good.at(victim).to(at::kInt);
  expectErrorContaining([&] { model->loadStateDict(ints, "z"); }, {"'" + victim + "'", "floating"});

  if (c.tieWordEmbeddings) {
    TensorMap head = good;
    head["lm_head.weight"] = good.begin()->second.clone();  // not the embeddings
    const std::string embed = gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight";
    head["lm_head.weight"] = good.at(embed) + 1.0;
    expectErrorContaining([&] { model->loadStateDict(head, "h"); },
                          {"'lm_head.weight' differs from '" + embed + "'"});
  }
  for (const auto& [name, t] : model->stateDict())
    EXPECT_TRUE(at::equal(t, before.at(name))) << "modified by a failed load: " << name;
}

TEST_P(ModelStateDictTest, AcceptsWhatHuggingFaceIgnores) {
  torch::NoGradGuard noGrad;
  const ModelConfig& c = GetParam().config;
  const bool gpt2 = c.family == ModelFamily::Gpt2;
  TensorMap good = cloneAll(makeModel(c, 6)->stateDict());
  const std::string embed = gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight";
  TensorMap withExtras = good;
  if (gpt2) {
    withExtras["transformer.h.0.attn.bias"] = at::ones({1, 1, 64, 64}).tril();
    withExtras["transformer.h.0.attn.masked_bias"] = at::tensor({-1e4});
  } else {
    withExtras["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({8});
  }
  if (c.tieWordEmbeddings) withExtras["lm_head.weight"] = good.at(embed).clone();
  Transformer model = makeModel(c, 7);
  model->loadStateDict(withExtras, "extras");
  EXPECT_TRUE(at::equal(model->stateDict().at(embed), good.at(embed)));

  // A base-model checkpoint has no "transformer."/"model." prefix.
  TensorMap bare;
  const std::string base = gpt2 ? "transformer." : "model.";
  for (const auto& [name, t] : good)
    bare[name.rfind(base, 0) == 0 ? name.substr(base.size()) : name] = t;
  Transformer fromBare = makeModel(c, 8);
  fromBare->loadStateDict(bare, "bare");
  for (const auto& [name, t] : fromBare->stateDict()) EXPECT_TRUE(at::equal(t, good.at(name)));
}

TEST_P(ModelStateDictTest, InitWeightsIsSeededAndHuggingFaceStyle) {
  const ModelConfig& c = GetParam().config;
  Transformer a(c), b(c), other(c);
  a->initWeights(11);
  b->initWeights(11);
  other->initWeights(12);
  TensorMap sa = a->stateDict(), sb = b->stateDict(), so = other->stateDict();
  for (const auto& [name, t] : sa) {
    EXPECT_TRUE(at::equal(t, sb.at(name))) << name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".bias") {
      EXPECT_EQ(t.abs().max().item<float>(), 0.0f) << name;
    } else if (t.dim() == 1) {
      EXPECT_TRUE(at::equal(t, at::ones_like(t))) << name;
    } else {
      EXPECT_FALSE(at::equal(t, so.at(name))) << name;
      const double expected =
          c.family == ModelFamily::Gpt2 && name.find("c_proj.weight") != std::string::npos
              ? c.initializerRange / std::sqrt(2.0 * c.numLayers)
              : c.initializerRange;
      EXPECT_NEAR(t.std().item<double>(), expected, 0.15 * expected) << name;
    }
  }
}

TEST_P(ModelStateDictTest, ResizeVocabAddsRowsAndKeepsOldLogits) {
  torch::NoGradGuard noGrad;
  ModelConfig c = GetParam().config;
  Transformer model = makeModel(c, 9);
  const int64_t v = c.vocabSize, d = c.hiddenSize;
  at::Tensor ids = testing::randomIds(1, 6, v, 4);
  at::Tensor before = model->forward(ids).logits;
  const int64_t paramsBefore = model->parameterCount();
  at::Tensor row = at::full({1, d}, 0.01f);
  model->resizeVocab(v + 1, row);
  EXPECT_EQ(model->config().vocabSize, v + 1);
  EXPECT_EQ(model->config().toJson().at("vocab_size").get<int64_t>(), v + 1);
  EXPECT_EQ(model->parameterCount(), paramsBefore + d * (c.tieWordEmbeddings ? 1 : 2));
  TensorMap sd = model->stateDict();
  const std::string embed =
      c.family == ModelFamily::Gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight";
  EXPECT_TRUE(at::equal(sd.at(embed)[v], row[0]));
  if (!c.tieWordEmbeddings) {
    at::Tensor head = sd.at("lm_head.weight");
    EXPECT_LT(maxAbsDiff(head[v], head.narrow(0, 0, v).mean(0)), 1e-6);  // default: mean row
  }
  at::Tensor after = model->forward(ids).logits;
  ASSERT_TRUE(after.sizes().equals({1, 6, v + 1}));
  EXPECT_LT(maxAbsDiff(after.narrow(2, 0, v), before), 1e-6);
  // The new id can be fed.
  EXPECT_NO_THROW(model->forward(at::full({1, 1}, v, at::kLong)));

  expectErrorContaining(
      [&] {
        model->resizeVocab(v + 3, at::zeros({1, d}));
      },
      {"newRows", "expected [2, " + std::to_string(d) + "]"});
  expectErrorContaining([&] { model->resizeVocab(0); }, {"positive"});
  model->resizeVocab(v);
  EXPECT_TRUE(model->forward(ids).logits.sizes().equals({1, 6, v}));
  EXPECT_LT(maxAbsDiff(model->forward(ids).logits, before), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ModelStateDictTest,
                         ::testing::ValuesIn(testing::modelCases()), testing::caseName);

}  // namespace
}  // namespace nmar::core
