// ModelConfig: Hugging Face config.json files of each supported family, malformed cases, round
// trip.
#include <gtest/gtest.h>

#include "model/model_config.h"
#include "util/error.h"

namespace nmar::core {
namespace {

using nlohmann::json;

// The config.json of openai-community/gpt2.
const char* kGpt2 = R"({
  "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
  "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
  "n_inner": null, "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1,
  "summary_activation": null, "summary_first_dropout": 0.1, "summary_proj_to_labels": true,
  "summary_type": "cls_index", "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "vocab_size": 50257})";

// TinyLlama-1.1B style.
const char* kLlama = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 5632, "max_position_embeddings": 2048, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.35.0",
  "use_cache": true, "vocab_size": 32000})";

// Qwen2-0.5B.
const char* kQwen2 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 131072, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 131072, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

// Mistral-7B-v0.3 (no sliding window).
const char* kMistral = R"({
  "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true,
  "vocab_size": 32768})";

void expectError(const json& j, const std::vector<std::string>& parts) {
  try {
    ModelConfig::fromJson(j, "models/x/config.json");
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("models/x/config.json"), std::string::npos) << message;
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

TEST(ModelConfig, ParsesGpt2) {
  ModelConfig c = ModelConfig::fromJson(json::parse(kGpt2), "gpt2/config.json");
  EXPECT_EQ(c.family, ModelFamily::Gpt2);
  EXPECT_EQ(c.modelType, "gpt2");
  EXPECT_EQ(c.vocabSize, 50257);
  EXPECT_EQ(c.hiddenSize, 768);
  EXPECT_EQ(c.numLayers, 12);
  EXPECT_EQ(c.numHeads, 12);
  EXPECT_EQ(c.numKvHeads, 12);
  EXPECT_EQ(c.headDim, 64);
  EXPECT_EQ(c.intermediateSize, 4 * 768);  // n_inner null
  EXPECT_EQ(c.maxPositions, 1024);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_EQ(c.hiddenAct, "gelu_new");
  EXPECT_TRUE(c.tieWordEmbeddings);
  EXPECT_TRUE(c.attentionBias && c.attentionOutBias && c.mlpBias);
  EXPECT_EQ(c.bosTokenId, 50256);
  EXPECT_EQ(c.eosTokenId(), 50256);
}

TEST(ModelConfig, ParsesLlamaWithGqa) {
  ModelConfig c = ModelConfig::fromJson(json::parse(kLlama), "llama/config.json");
  EXPECT_EQ(c.family, ModelFamily::Llama);
  EXPECT_EQ(c.numHeads, 32);
  EXPECT_EQ(c.numKvHeads, 4);
  EXPECT_EQ(c.headDim, 64);
  EXPECT_EQ(c.intermediateSize, 5632);
  EXPECT_EQ(c.maxPositions, 2048);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
  EXPECT_DOUBLE_EQ(c.ropeTheta, 10000.0);
  EXPECT_FALSE(c.tieWordEmbeddings);
  EXPECT_FALSE(c.attentionBias || c.attentionOutBias || c.mlpBias);
  EXPECT_EQ(c.hiddenAct, "silu");
  EXPECT_EQ(c.bosTokenId, 1);
  EXPECT_EQ(c.eosTokenIds, std::vector<int64_t>{2});
}

TEST(ModelConfig, ParsesQwen2WithQkvBiases) {
  ModelConfig c = ModelConfig::fromJson(json::parse(kQwen2), "qwen2/config.json");
  EXPECT_EQ(c.family, ModelFamily::Llama);
  EXPECT_EQ(c.modelType, "qwen2");
  EXPECT_EQ(c.headDim, 64);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_DOUBLE_EQ(c.ropeTheta, 1e6);
  EXPECT_DOUBLE_EQ(c.normEps, 1e-6);
  EXPECT_TRUE(c.tieWordEmbeddings);
  EXPECT_TRUE(c.attentionBias);
  EXPECT_FALSE(c.attentionOutBias);
  EXPECT_EQ(c.maxPositions, 131072);
}

TEST(ModelConfig, ParsesMistralWithoutSlidingWindow) {
  ModelConfig c = ModelConfig::fromJson(json::parse(kMistral), "mistral/config.json");
  EXPECT_EQ(c.modelType, "mistral");
  EXPECT_EQ(c.numKvHeads, 8);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.vocabSize, 32768);
  EXPECT_FALSE(c.attentionBias);
}

TEST(ModelConfig, DefaultsAndOptionalForms) {
  json j = json::parse(kLlama);
  j.erase("num_key_value_heads");
  j.erase("rope_theta");
  j["head_dim"] = 128;  // explicit head_dim wins over hidden / heads
  j["eos_token_id"] = json::array({2, 32000});
  ModelConfig c = ModelConfig::fromJson(j, "c");
  EXPECT_EQ(c.numKvHeads, 32);
  EXPECT_DOUBLE_EQ(c.ropeTheta, 10000.0);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.eosTokenIds, (std::vector<int64_t>{2, 32000}));
  json g = json::parse(kGpt2);
  g["n_inner"] = 1000;
  EXPECT_EQ(ModelConfig::fromJson(g, "g").intermediateSize, 1000);
  json l = json::parse(kLlama);
  l["attention_bias"] = true;
  ModelConfig lb = ModelConfig::fromJson(l, "l");
  EXPECT_TRUE(lb.attentionBias && lb.attentionOutBias);
}

TEST(ModelConfig, RejectsMalformedConfigs) {
  expectError(json::array(), {"JSON object"});
  json noType = json::parse(kGpt2);
  noType.erase("model_type");
  expectError(noType, {"model_type", "missing"});
  json bert = json::parse(kGpt2);
  bert["model_type"] = "bert";
  expectError(bert, {"model_type", "bert", "unsupported"});
  json missing = json::parse(kGpt2);
  missing.erase("n_embd");
  expectError(missing, {"'n_embd'", "missing"});
  json stringHeads = json::parse(kGpt2);
  stringHeads["n_head"] = "12";
  expectError(stringHeads, {"'n_head'", "integer"});
  json floatEps = json::parse(kLlama);
  floatEps["rms_norm_eps"] = "small";
  expectError(floatEps, {"'rms_norm_eps'", "number"});
  json badTie = json::parse(kLlama);
  badTie["tie_word_embeddings"] = 1;
  expectError(badTie, {"'tie_word_embeddings'", "true or false"});
  json gptHeads = json::parse(kGpt2);
  gptHeads["n_head"] = 7;
  expectError(gptHeads, {"'n_head'", "does not divide n_embd = 768"});
  json llamaHeads = json::parse(kLlama);
  llamaHeads["num_attention_heads"] = 30;
  llamaHeads["num_key_value_heads"] = 5;
  expectError(llamaHeads, {"'num_attention_heads'", "does not divide hidden_size = 2048"});
  json kvHeads = json::parse(kLlama);
  kvHeads["num_key_value_heads"] = 5;
  expectError(kvHeads, {"'num_key_value_heads'", "= 5 does not divide num_attention_heads = 32"});
  json negative = json::parse(kLlama);
  negative["vocab_size"] = -3;
  expectError(negative, {"'vocab_size'", "positive"});
  json act = json::parse(kLlama);
  act["hidden_act"] = "mish";
  expectError(act, {"'hidden_act'", "mish"});
  json scaling = json::parse(kLlama);
  scaling["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  expectError(scaling, {"'rope_scaling'", "not implemented"});
  json window = json::parse(kMistral);
  window["sliding_window"] = 4096;  // Mistral-7B-v0.1
  expectError(window, {"'sliding_window'", "4096", "32768"});
  json qwenWindow = json::parse(kQwen2);
  qwenWindow["use_sliding_window"] = true;
  qwenWindow["sliding_window"] = 4096;
  expectError(qwenWindow, {"'sliding_window'"});
  json eos = json::parse(kLlama);
  eos["eos_token_id"] = "</s>";
  expectError(eos, {"'eos_token_id'"});
  json gptIdx = json::parse(kGpt2);
  gptIdx["scale_attn_by_inverse_layer_idx"] = true;
  expectError(gptIdx, {"'scale_attn_by_inverse_layer_idx'"});
}

TEST(ModelConfig, ToJsonRoundTripsAndKeepsUnknownFields) {
  for (const char* text : {kGpt2, kLlama, kQwen2, kMistral}) {
    json original = json::parse(text);
    original["custom_research_field"] = {{"a", 1}};
    ModelConfig c = ModelConfig::fromJson(original, "in");
    c.vocabSize += 1;
    json written = c.toJson();
    EXPECT_EQ(written.at("custom_research_field"), original.at("custom_research_field"));
    EXPECT_EQ(written.value("torch_dtype", json()), original.value("torch_dtype", json()));
    EXPECT_EQ(written.at("architectures"), original.at("architectures"));
    EXPECT_EQ(written.at("vocab_size").get<int64_t>(), c.vocabSize);
    ModelConfig back = ModelConfig::fromJson(written, "out");
    EXPECT_EQ(back.modelType, c.modelType);
    EXPECT_EQ(back.vocabSize, c.vocabSize);
    EXPECT_EQ(back.hiddenSize, c.hiddenSize);
    EXPECT_EQ(back.numLayers, c.numLayers);
    EXPECT_EQ(back.numHeads, c.numHeads);
    EXPECT_EQ(back.numKvHeads, c.numKvHeads);
    EXPECT_EQ(back.headDim, c.headDim);
    EXPECT_EQ(back.intermediateSize, c.intermediateSize);
    EXPECT_EQ(back.maxPositions, c.maxPositions);
    EXPECT_DOUBLE_EQ(back.normEps, c.normEps);
    EXPECT_DOUBLE_EQ(back.ropeTheta, c.ropeTheta);
    EXPECT_EQ(back.tieWordEmbeddings, c.tieWordEmbeddings);
    EXPECT_EQ(back.attentionBias, c.attentionBias);
    EXPECT_EQ(back.attentionOutBias, c.attentionOutBias);
    EXPECT_EQ(back.bosTokenId, c.bosTokenId);
    EXPECT_EQ(back.eosTokenIds, c.eosTokenIds);
  }
}

TEST(ModelConfig, PresetsAreSmallAndValid) {
  ModelConfig g = ModelConfig::preset(ModelFamily::Gpt2, "tiny", 100);
  EXPECT_EQ(g.numLayers, 2);
  EXPECT_EQ(g.hiddenSize, 64);
  EXPECT_EQ(g.numHeads, 4);
  EXPECT_EQ(g.vocabSize, 100);
  ModelConfig l = ModelConfig::preset(ModelFamily::Llama, "small", 100);
  EXPECT_EQ(l.numLayers, 4);
  EXPECT_EQ(l.hiddenSize, 128);
  EXPECT_EQ(l.numKvHeads, 2);
  EXPECT_EQ(l.modelType, "llama");
  // A preset written out is a valid HF config.
  ModelConfig back = ModelConfig::fromJson(l.toJson(), "preset");
  EXPECT_EQ(back.numKvHeads, 2);
  EXPECT_EQ(back.intermediateSize, l.intermediateSize);
  try {
    ModelConfig::preset(ModelFamily::Gpt2, "huge", 100);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge"), std::string::npos);
  }
  EXPECT_THROW(ModelConfig::preset(ModelFamily::Llama, "tiny", 0), Error);
}

}  // namespace
}  // namespace nmar::core
