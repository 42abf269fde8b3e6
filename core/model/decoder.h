#pragma once
/**
 * @file The decoder stack of a Transformer: embeddings, pre-norm blocks and the final norm, with
 * submodules named as in Hugging Face ("wte", "wpe", "h", "ln_f" for GPT-2; "embed_tokens",
 * "layers", "norm" for the Llama family).
 */
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "model/attention.h"
#include "model/layers.h"
#include "model/model_config.h"

namespace nmar::core {

/**
 * One pre-norm block: x + attn(norm1(x)), then + mlp(norm2(x)). GPT-2 names: ln_1, attn, ln_2, mlp;
 * Llama names: input_layernorm, self_attn, post_attention_layernorm, mlp.
 */
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& config);
  /** @p x `[B, Q, D]`; see AttentionImpl::forward for @p layer, @p ctx and @p probs. */
  at::Tensor forward(const at::Tensor& x, int64_t layer, const AttentionContext& ctx,
                     at::Tensor* probs);

 private:
  Norm m_norm1{nullptr}, m_norm2{nullptr};
  Attention m_attn{nullptr};
  Mlp m_mlp{nullptr};
};
TORCH_MODULE(Block);

/** Embeddings, blocks and final norm; the "transformer" (GPT-2) or "model" (Llama) submodule. */
class DecoderStackImpl : public torch::nn::Module {
 public:
  explicit DecoderStackImpl(const ModelConfig& config);

  /**
   * @p ids `[B, Q]` and @p positionIds `[B, Q]` (validated by the caller) -> final normed hidden
   * states `[B, Q, D]`. @p attentions, when not null, receives one fp32 `[B, H, Q, K]` per layer.
   */
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& positionIds,
                     const AttentionContext& ctx, std::vector<at::Tensor>* attentions);

  /** The token embedding (wte / embed_tokens). */
  Embedding& tokenEmbedding() { return m_tokens; }
  const Embedding& tokenEmbedding() const { return m_tokens; }

 private:
  Embedding m_tokens{nullptr}, m_positions{nullptr};
  torch::nn::ModuleList m_blocks{nullptr};
  Norm m_final{nullptr};
};
TORCH_MODULE(DecoderStack);

}  // namespace nmar::core
