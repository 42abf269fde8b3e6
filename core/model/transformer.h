#pragma once
/**
 * @file Decoder-only Transformer (GPT-2 and Llama families) with explicit masked attention, a KV
 * cache, and Hugging Face tensor names and layouts for loading and saving.
 */
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/decoder.h"
#include "model/kv_cache.h"
#include "model/layers.h"
#include "model/model_config.h"
#include "util/tensor_map.h"

namespace nmar::core {

/** Optional inputs of Transformer::forward. */
struct ForwardOptions {
  /** bool `[B|1, 1, Q, K]` with K = cache length + Q; true = the query may attend to the key.
   * Default: causal over the cache and the new tokens. */
  at::Tensor mask;
  /** int64 `[B|1, Q]`; default: cache length + arange(Q). */
  at::Tensor positionIds;
  /** When set, the new keys/values are appended to it and the queries attend over all of it. */
  KVCache* cache = nullptr;
  bool returnAttention = false;  ///< fill ForwardOutput::attentions
  bool returnHidden = false;     ///< fill ForwardOutput::hidden
};

/** Results of Transformer::forward. */
struct ForwardOutput {
  at::Tensor logits;                   ///< `[B, Q, V]` fp32
  std::vector<at::Tensor> attentions;  ///< per layer `[B, H, Q, K]` fp32, when asked
  at::Tensor hidden;                   ///< final normed hidden states `[B, Q, D]`, when asked
};

/**
 * The model. Submodules and parameters are registered under Hugging Face's names, so
 * named_parameters() and stateDict() list exactly the tensors of an HF checkpoint
 * ("transformer.h.0.attn.c_attn.weight", "model.layers.0.self_attn.q_proj.weight", ...).
 * Not thread-safe: use it on the thread that owns it; wrap evaluation in a NoGradGuard.
 */
class TransformerImpl : public torch::nn::Module {
 public:
  /** Builds the architecture of @p config (validated; throws Error otherwise). Parameters are
   * uninitialised until initWeights() or loadStateDict(). */
  explicit TransformerImpl(const ModelConfig& config);

  /**
   * Runs @p ids (`[B, Q]` integer) through the model. Throws Error naming the argument when ids,
   * mask or positions have the wrong rank/shape/dtype, K differs from cache length + Q, an id is
   * outside the vocabulary or a GPT-2 position is outside [0, maxPositions). Inputs are moved to
   * the model's device. When a cache is given and the forward fails, the cache is rolled back to
   * the length it had.
   */
  ForwardOutput forward(const at::Tensor& ids, const ForwardOptions& opt = {});

  /**
   * Every parameter under its Hugging Face name and layout (GPT-2 Conv1D weights `[in, out]`);
   * "lm_head.weight" only when the head is untied. Tensors alias the parameters (detached):
   * clone before mutating.
   */
  TensorMap stateDict() const;

  /**
   * Strictly loads @p tensors (converted to the model's dtype and device; bit-identical when the
   * dtype matches). Accepts names without the base prefix ("wte.weight", "embed_tokens.weight") as
   * HF does. Throws Error naming @p source and the tensor for a missing tensor, a wrong shape, a
   * non-floating dtype, or an unexpected name; ignores what HF ignores (GPT-2 attn.bias/masked_bias
   * buffers, rotary inv_freq buffers, lm_head.weight equal to the embeddings of a tied model).
   * Nothing is modified when it throws.
   */
  void loadStateDict(const TensorMap& tensors, const std::string& source);

  /** HF-style init from @p seed: normal(0, initializer_range) weights and embeddings, zero biases,
   * ones for norm weights, GPT-2 c_proj weights with std / sqrt(2 * numLayers). Deterministic
   * across devices (drawn on the CPU). */
  void initWeights(uint64_t seed);

  const ModelConfig& config() const { return m_config; }

  /**
   * Resizes the vocabulary to @p newSize (embedding and untied head; config().vocabSize follows).
   * When growing, the new embedding rows are @p newRows (`[newSize - old, D]`) or, if undefined,
   * the mean of the existing rows; the new rows of an untied head are @p newHeadRows or the mean of
   * the existing head rows. Shrinking drops the last rows (newRows must be undefined then). Throws
   * Error for a non-positive size or wrongly shaped rows.
   */
  void resizeVocab(int64_t newSize, const at::Tensor& newRows = {},
                   const at::Tensor& newHeadRows = {});

  /** Number of scalar parameters (a tied head counted once). */
  int64_t parameterCount() const;

  /** dtype and device of the parameters. */
  at::ScalarType dtype() const;
  at::Device device() const;

 private:
  AttentionContext makeContext(const at::Tensor& ids, ForwardOptions& opt, int64_t cacheLength);

  ModelConfig m_config;
  DecoderStack m_body{nullptr};  // "transformer" (GPT-2) or "model" (Llama)
  Projection m_lmHead{nullptr};  // "lm_head", only when untied
};
TORCH_MODULE(Transformer);

}  // namespace nmar::core
