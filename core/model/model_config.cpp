#include "model/model_config.h"

#include <cmath>

#include "util/error.h"

namespace nmar::core {
namespace {

using nlohmann::json;

/** Reads HF config fields with errors that name the source and the field. */
class FieldReader {
 public:
  FieldReader(const json& j, const std::string& source) : m_json(j), m_source(source) {}

  bool has(const std::string& field) const {
    return m_json.contains(field) && !m_json.at(field).is_null();
  }

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(m_source + ": config field '" + field + "' " + what);
  }

  int64_t requireInt(const std::string& field) const {
    if (!has(field)) fail(field, "is missing (expected an integer)");
    return toInt(field);
  }

  int64_t optInt(const std::string& field, int64_t fallback) const {
    return has(field) ? toInt(field) : fallback;
  }

  double optDouble(const std::string& field, double fallback) const {
    if (!has(field)) return fallback;
    const json& v = m_json.at(field);
    if (!v.is_number()) fail(field, "must be a number, got " + v.dump());
    return v.get<double>();
  }

  bool optBool(const std::string& field, bool fallback) const {
    if (!has(field)) return fallback;
    const json& v = m_json.at(field);
    if (!v.is_boolean()) fail(field, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }

  std::string optString(const std::string& field, const std::string& fallback) const {
    if (!has(field)) return fallback;
    const json& v = m_json.at(field);
    if (!v.is_string()) fail(field, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }

  /** An id or a list of ids (eos_token_id may be either); empty when absent or null. */
  std::vector<int64_t> optIdList(const std::string& field) const {
    std::vector<int64_t> ids;
    if (!has(field)) return ids;
    const json& v = m_json.at(field);
    if (v.is_number_integer()) {
      ids.push_back(v.get<int64_t>());
    } else if (v.is_array()) {
      for (const json& e : v) {
        if (!e.is_number_integer()) fail(field, "must hold integers, got " + e.dump());
        ids.push_back(e.get<int64_t>());
      }
    } else {
      fail(field, "must be an integer or a list of integers, got " + v.dump());
    }
    return ids;
  }

 private:
  int64_t toInt(const std::string& field) const {
    const json& v = m_json.at(field);
    if (!v.is_number_integer()) fail(field, "must be an integer, got " + v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail(field, "is " + v.dump() + ", out of the range of a 64-bit integer");
    return v.get<int64_t>();
  }

  const json& m_json;
  const std::string& m_source;
};

void readGpt2(const FieldReader& r, ModelConfig& c) {
  c.family = ModelFamily::Gpt2;
  c.vocabSize = r.requireInt("vocab_size");
  c.hiddenSize = r.requireInt("n_embd");
  c.numLayers = r.requireInt("n_layer");
  c.numHeads = r.requireInt("n_head");
  c.numKvHeads = c.numHeads;
  c.headDim = c.numHeads > 0 ? c.hiddenSize / c.numHeads : 0;
  c.maxPositions = r.optInt("n_positions", r.optInt("n_ctx", 1024));
  if (c.hiddenSize > kMaxModelWidth)  // before 4 x n_embd below can overflow
    r.fail("n_embd", "is " + std::to_string(c.hiddenSize) + ", more than the limit of " +
                         std::to_string(kMaxModelWidth));
  c.intermediateSize = r.optInt("n_inner", c.hiddenSize > 0 ? 4 * c.hiddenSize : 0);
  c.normEps = r.optDouble("layer_norm_epsilon", 1e-5);
  c.hiddenAct = r.optString("activation_function", "gelu_new");
  c.tieWordEmbeddings = r.optBool("tie_word_embeddings", true);
  c.attentionBias = c.attentionOutBias = c.mlpBias = true;
  if (!r.optBool("scale_attn_weights", true))
    r.fail("scale_attn_weights", "is false: only scaled attention is implemented");
  if (r.optBool("scale_attn_by_inverse_layer_idx", false))
    r.fail("scale_attn_by_inverse_layer_idx", "is true: not implemented (expected false)");
  if (r.optBool("reorder_and_upcast_attn", false))
    r.fail("reorder_and_upcast_attn", "is true: not implemented (expected false)");
}

void readLlama(const FieldReader& r, ModelConfig& c) {
  c.family = ModelFamily::Llama;
  c.vocabSize = r.requireInt("vocab_size");
  c.hiddenSize = r.requireInt("hidden_size");
  c.numLayers = r.requireInt("num_hidden_layers");
  c.numHeads = r.requireInt("num_attention_heads");
  c.numKvHeads = r.optInt("num_key_value_heads", c.numHeads);
  c.intermediateSize = r.requireInt("intermediate_size");
  if (!r.has("head_dim") && c.numHeads > 0 && c.hiddenSize % c.numHeads != 0)
    r.fail("num_attention_heads",
           "= " + std::to_string(c.numHeads) +
               " does not divide hidden_size = " + std::to_string(c.hiddenSize));
  c.headDim = r.optInt("head_dim", c.numHeads > 0 ? c.hiddenSize / c.numHeads : 0);
  c.normEps = r.optDouble("rms_norm_eps", 1e-6);
  c.ropeTheta = r.optDouble("rope_theta", 10000.0);
  int64_t defaultPositions = c.modelType == "llama"   ? 2048
                             : c.modelType == "qwen2" ? 32768
                                                      : 131072;
  c.maxPositions = r.optInt("max_position_embeddings", defaultPositions);
  c.tieWordEmbeddings = r.optBool("tie_word_embeddings", false);
  c.hiddenAct = r.optString("hidden_act", "silu");
  if (c.modelType == "llama") {
    c.attentionBias = c.attentionOutBias = r.optBool("attention_bias", false);
    c.mlpBias = r.optBool("mlp_bias", false);
  } else if (c.modelType == "qwen2") {
    c.attentionBias = true;  // Qwen2 always has q/k/v biases and none on o_proj
    c.attentionOutBias = c.mlpBias = false;
  } else {
    c.attentionBias = c.attentionOutBias = c.mlpBias = false;
  }
  if (r.has("rope_scaling"))
    r.fail("rope_scaling", "is set: RoPE scaling is not implemented (expected null)");
  bool slidingUsed = c.modelType == "mistral" ||
                     (c.modelType == "qwen2" && r.optBool("use_sliding_window", false));
  if (slidingUsed && r.has("sliding_window")) {
    int64_t window = r.requireInt("sliding_window");
    if (window < c.maxPositions)
      r.fail("sliding_window", "is " + std::to_string(window) +
                                   ": sliding-window attention is not implemented (expected null "
                                   "or >= max_position_embeddings = " +
                                   std::to_string(c.maxPositions) + ")");
  }
}

void setTokenIds(const ModelConfig& c, json& j) {
  j["bos_token_id"] = c.bosTokenId >= 0 ? json(c.bosTokenId) : json(nullptr);
  if (c.eosTokenIds.size() == 1)
    j["eos_token_id"] = c.eosTokenIds.front();
  else if (c.eosTokenIds.empty())
    j["eos_token_id"] = nullptr;
  else
    j["eos_token_id"] = c.eosTokenIds;
}

}  // namespace

std::string familyName(ModelFamily family) {
  return family == ModelFamily::Gpt2 ? "gpt2" : "llama";
}

ModelConfig ModelConfig::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": config must be a JSON object, got " + j.type_name());
  FieldReader r(j, source);
  ModelConfig c;
  if (!r.has("model_type")) r.fail("model_type", "is missing (expected \"gpt2\", \"llama\", ...)");
  c.modelType = r.optString("model_type", "");
  if (c.modelType == "gpt2") {
    readGpt2(r, c);
  } else if (c.modelType == "llama" || c.modelType == "qwen2" || c.modelType == "mistral") {
    readLlama(r, c);
  } else {
    r.fail("model_type", "is \"" + c.modelType +
                             "\": unsupported (expected \"gpt2\", \"llama\", \"qwen2\" or "
                             "\"mistral\")");
  }
  c.initializerRange = r.optDouble("initializer_range", 0.02);
  c.bosTokenId = r.optInt("bos_token_id", -1);
  c.eosTokenIds = r.optIdList("eos_token_id");
  c.raw = j;
  c.validate(source);
  return c;
}

void ModelConfig::validate(const std::string& source) const {
  bool gpt2 = family == ModelFamily::Gpt2;
  auto fail = [&](const std::string& field, const std::string& what) {
    throw Error(source + ": config field '" + field + "' " + what);
  };
  auto positive = [&](int64_t value, const char* gptField, const char* llamaField) {
    if (value <= 0)
      fail(gpt2 ? gptField : llamaField, "must be positive, got " + std::to_string(value));
  };
  positive(vocabSize, "vocab_size", "vocab_size");
  positive(hiddenSize, "n_embd", "hidden_size");
  positive(numLayers, "n_layer", "num_hidden_layers");
  positive(numHeads, "n_head", "num_attention_heads");
  positive(numKvHeads, "n_head", "num_key_value_heads");
  positive(intermediateSize, "n_inner", "intermediate_size");
  positive(maxPositions, "n_positions", "max_position_embeddings");
  positive(headDim, "n_head", "head_dim");
  auto atMost = [&](int64_t value, int64_t limit, const char* gptField, const char* llamaField) {
    if (value > limit)
      fail(gpt2 ? gptField : llamaField,
           "is " + std::to_string(value) + ", more than the limit of " + std::to_string(limit));
  };
  atMost(vocabSize, kMaxModelVocab, "vocab_size", "vocab_size");
  atMost(hiddenSize, kMaxModelWidth, "n_embd", "hidden_size");
  atMost(numLayers, kMaxModelLayers, "n_layer", "num_hidden_layers");
  atMost(numHeads, kMaxModelHeads, "n_head", "num_attention_heads");
  atMost(numKvHeads, kMaxModelHeads, "n_head", "num_key_value_heads");
  atMost(intermediateSize, kMaxModelIntermediate, "n_inner", "intermediate_size");
  atMost(maxPositions, kMaxModelPositions, "n_positions", "max_position_embeddings");
  atMost(headDim, kMaxModelWidth, "n_head", "head_dim");
  const char* headsField = gpt2 ? "n_head" : "num_attention_heads";
  if (gpt2 && hiddenSize % numHeads != 0)
    fail(headsField, "= " + std::to_string(numHeads) +
                         " does not divide n_embd = " + std::to_string(hiddenSize));
  if (gpt2 && (numKvHeads != numHeads || headDim * numHeads != hiddenSize))
    fail(headsField, "GPT-2 needs head_dim = n_embd / n_head and as many kv heads as heads");
  if (numHeads % numKvHeads != 0)
    fail("num_key_value_heads",
         "= " + std::to_string(numKvHeads) +
             " does not divide num_attention_heads = " + std::to_string(numHeads));
  if (!gpt2 && headDim % 2 != 0)
    fail("head_dim", "= " + std::to_string(headDim) + " must be even for rotary embeddings");
  if (!(normEps > 0.0)) fail(gpt2 ? "layer_norm_epsilon" : "rms_norm_eps", "must be positive");
  if (!gpt2 && !(ropeTheta > 0.0)) fail("rope_theta", "must be positive");
  if (!(initializerRange >= 0.0)) fail("initializer_range", "must not be negative");
  static const char* kActs[] = {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu", "swish"};
  bool known = false;
  for (const char* a : kActs) known = known || hiddenAct == a;
  if (!known)
    fail(gpt2 ? "activation_function" : "hidden_act",
         "is \"" + hiddenAct +
             "\": unsupported (expected gelu_new, gelu_pytorch_tanh, gelu, relu, silu or swish)");
}

nlohmann::json ModelConfig::toJson() const {
  json j = raw.is_object() ? raw : json::object();
  j["model_type"] = modelType;
  j["vocab_size"] = vocabSize;
  j["initializer_range"] = initializerRange;
  j["tie_word_embeddings"] = tieWordEmbeddings;
  setTokenIds(*this, j);
  if (family == ModelFamily::Gpt2) {
    j["n_embd"] = hiddenSize;
    j["n_layer"] = numLayers;
    j["n_head"] = numHeads;
    j["n_positions"] = maxPositions;
    if (j.contains("n_ctx")) j["n_ctx"] = maxPositions;
    j["n_inner"] = intermediateSize;
    j["layer_norm_epsilon"] = normEps;
    j["activation_function"] = hiddenAct;
    if (!j.contains("architectures")) j["architectures"] = json::array({"GPT2LMHeadModel"});
  } else {
    j["hidden_size"] = hiddenSize;
    j["num_hidden_layers"] = numLayers;
    j["num_attention_heads"] = numHeads;
    j["num_key_value_heads"] = numKvHeads;
    j["head_dim"] = headDim;
    j["intermediate_size"] = intermediateSize;
    j["max_position_embeddings"] = maxPositions;
    j["rms_norm_eps"] = normEps;
    j["rope_theta"] = ropeTheta;
    j["hidden_act"] = hiddenAct;
    if (modelType == "llama") {
      j["attention_bias"] = attentionBias;
      j["mlp_bias"] = mlpBias;
    }
    if (!j.contains("architectures")) {
      std::string arch = modelType == "qwen2"     ? "Qwen2ForCausalLM"
                         : modelType == "mistral" ? "MistralForCausalLM"
                                                  : "LlamaForCausalLM";
      j["architectures"] = json::array({arch});
    }
  }
  return j;
}

ModelConfig ModelConfig::preset(ModelFamily family, const std::string& size, int64_t vocabSize) {
  if (size != "tiny" && size != "small")
    throw Error("model preset '" + size + "' is unknown (expected \"tiny\" or \"small\")");
  if (vocabSize < 1)
    throw Error("model preset '" + size + "': vocabSize must be positive, got " +
                std::to_string(vocabSize));
  bool tiny = size == "tiny";
  ModelConfig c;
  c.family = family;
  c.vocabSize = vocabSize;
  c.hiddenSize = tiny ? 64 : 128;
  c.numLayers = tiny ? 2 : 4;
  c.numHeads = 4;
  c.headDim = c.hiddenSize / c.numHeads;
  c.maxPositions = tiny ? 512 : 1024;
  c.tieWordEmbeddings = true;
  if (family == ModelFamily::Gpt2) {
    c.modelType = "gpt2";
    c.numKvHeads = c.numHeads;
    c.intermediateSize = 4 * c.hiddenSize;
    c.normEps = 1e-5;
    c.hiddenAct = "gelu_new";
    c.attentionBias = c.attentionOutBias = c.mlpBias = true;
  } else {
    c.modelType = "llama";
    c.numKvHeads = 2;
    c.intermediateSize = tiny ? 176 : 352;
    c.normEps = 1e-6;
    c.hiddenAct = "silu";
    c.ropeTheta = 10000.0;
  }
  c.validate("preset " + size);
  return c;
}

}  // namespace nmar::core
