#pragma once
/**
 * @file Explicit (masked) self-attention: rotary position embeddings in Hugging Face's rotate-half
 * convention, grouped-query attention, and the attention module of a block.
 */
#include <utility>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/kv_cache.h"
#include "model/layers.h"
#include "model/model_config.h"

namespace nmar::core {

/** What every layer of one forward pass shares. */
struct AttentionContext {
  at::Tensor
      blocked;  ///< bool `[B|1, 1, Q, K]`: true = query may NOT see key; undefined = all visible
  at::Tensor cos, sin;       ///< RoPE tables `[B, 1, Q, Dh]` in the model dtype (Llama family only)
  KVCache* cache = nullptr;  ///< appended to when set
};

/**
 * RoPE tables for @p positionIds (`[B, Q]` int64): inv_freq_i = theta^(-2i/Dh) in fp32,
 * angle = pos * inv_freq, emb = cat(angle, angle); returns (cos(emb), sin(emb)) as `[B, 1, Q, Dh]`
 * cast to @p dtype, exactly as Hugging Face's Llama rotary embedding.
 */
std::pair<at::Tensor, at::Tensor> ropeTables(const at::Tensor& positionIds, int64_t headDim,
                                             double theta, at::ScalarType dtype);

/** rotate_half: cat(-x2, x1) over the last dimension split in halves. */
at::Tensor rotateHalf(const at::Tensor& x);

/** x * cos + rotateHalf(x) * sin, for x `[B, H, Q, Dh]` and tables from ropeTables(). */
at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/**
 * softmax(q kᵀ / sqrt(Dh) masked) v with the scores and softmax in fp32.
 * @p q `[B, H, Q, Dh]`, @p k and @p v `[B, Hkv, K, Dh]` with Hkv dividing H (query head h uses kv
 * head h / (H/Hkv), as HF's repeat_kv), @p blocked bool broadcastable to `[B, H, Q, K]` or
 * undefined when every key is visible (true = hidden; filled with the lowest float, so a row with
 * no visible key becomes uniform instead of NaN). Returns `[B, H, Q, Dh]` in q's dtype; when @p
 * probs is given it receives the fp32 probabilities `[B, H, Q, K]`.
 */
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& blocked, at::Tensor* probs);

/**
 * Self-attention of one block. GPT-2: fused "c_attn" (Conv1D `[D, 3D]`) and "c_proj". Llama
 * family: "q_proj", "k_proj", "v_proj" (biases when attentionBias), "o_proj" (bias when
 * attentionOutBias), RoPE on q and k at the given positions, grouped-query attention.
 */
class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& config);

  /**
   * @p x `[B, Q, D]` -> `[B, Q, D]`. Appends this layer's keys/values (after RoPE) to ctx.cache
   * when set and attends over the whole cache. @p probs receives the fp32 probabilities when not
   * null.
   */
  at::Tensor forward(const at::Tensor& x, int64_t layer, const AttentionContext& ctx,
                     at::Tensor* probs);

 private:
  bool m_gpt2;
  int64_t m_heads, m_kvHeads, m_headDim;
  Projection m_cAttn{nullptr}, m_cProj{nullptr};
  Projection m_q{nullptr}, m_k{nullptr}, m_v{nullptr}, m_o{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace nmar::core
