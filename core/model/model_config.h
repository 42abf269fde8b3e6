#pragma once
/** @file Hyper-parameters of a decoder-only Transformer, read from / written to HF config.json. */
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** The two architectures the model module implements. */
enum class ModelFamily {
  Gpt2,   ///< learned positions, LayerNorm, GELU MLP, fused Conv1D c_attn, tied head
  Llama,  ///< RoPE, RMSNorm, SwiGLU, grouped-query attention (Llama, Qwen2, Mistral, SmolLM)
};

/**
 * Upper limits of config.json sizes (far above any published model; they keep every size product
 * the model computes, such as 4 x n_embd or vocab x hidden, inside 64 bits).
 */
inline constexpr int64_t kMaxModelWidth = int64_t{1} << 20;         ///< hidden size, head_dim
inline constexpr int64_t kMaxModelIntermediate = int64_t{1} << 22;  ///< MLP width
inline constexpr int64_t kMaxModelVocab = int64_t{1} << 31;         ///< token ids are int32
inline constexpr int64_t kMaxModelLayers = int64_t{1} << 12;
inline constexpr int64_t kMaxModelHeads = int64_t{1} << 14;
inline constexpr int64_t kMaxModelPositions = int64_t{1} << 28;

/** "gpt2" or "llama". */
std::string familyName(ModelFamily family);

/**
 * Everything needed to build a Transformer. Field meanings follow Hugging Face's config.json; the
 * original JSON is kept in `raw` so that fields this project does not use survive a round trip.
 * A ModelConfig that came out of fromJson() or preset() has passed validate().
 */
struct ModelConfig {
  ModelFamily family = ModelFamily::Gpt2;
  std::string modelType = "gpt2";  ///< HF model_type: "gpt2", "llama", "qwen2", "mistral"
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;  ///< == numHeads for GPT-2 and for multi-head Llama
  int64_t headDim = 0;     ///< hiddenSize / numHeads unless the config says otherwise (Llama)
  int64_t intermediateSize = 0;
  int64_t maxPositions = 0;
  double normEps = 1e-5;
  double ropeTheta = 10000.0;  ///< Llama family only
  bool tieWordEmbeddings = true;
  bool attentionBias = false;          ///< biases on q/k/v projections (GPT-2: always; Qwen2: true)
  bool attentionOutBias = false;       ///< bias on the attention output projection (GPT-2: always)
  bool mlpBias = false;                ///< biases in the MLP (GPT-2: always)
  std::string hiddenAct = "gelu_new";  ///< "gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu"
  double initializerRange = 0.02;
  int64_t bosTokenId = -1;           ///< -1 when the config has none
  std::vector<int64_t> eosTokenIds;  ///< config's eos_token_id (an int or a list); may be empty
  nlohmann::json raw = nlohmann::json::object();  ///< the JSON it was read from (or {})

  /** First EOS id, or -1 when there is none. */
  int64_t eosTokenId() const { return eosTokenIds.empty() ? -1 : eosTokenIds.front(); }

  /**
   * Reads a Hugging Face config.json object. Throws Error naming @p source and the field for an
   * unknown model_type, a missing or ill-typed field, heads not dividing hidden size, kv heads not
   * dividing heads, or a feature this module does not implement (sliding-window attention shorter
   * than the context, rope_scaling).
   */
  static ModelConfig fromJson(const nlohmann::json& json, const std::string& source);

  /** The HF config.json for this config: `raw` with every known field overwritten. */
  nlohmann::json toJson() const;

  /**
   * A small config for tests and demos. @p size is "tiny" (2 layers, d=64, 4 heads; Llama with 2 kv
   * heads) or "small" (4 layers, d=128, 4 heads; Llama with 2 kv heads). GPT-2 presets are tied;
   * Llama presets are tied too (like SmolLM). Throws Error for another size or vocabSize < 1.
   */
  static ModelConfig preset(ModelFamily family, const std::string& size, int64_t vocabSize);

  /** Checks consistency (positive sizes within the kMaxModel* limits, divisibility, known
   * activation); throws Error naming @p source and the field. */
  void validate(const std::string& source) const;
};

}  // namespace nmar::core
