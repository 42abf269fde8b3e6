#include "model/decoder.h"

namespace nmar::core {

BlockImpl::BlockImpl(const ModelConfig& c) {
  const bool gpt2 = c.family == ModelFamily::Gpt2;
  m_norm1 =
      register_module(gpt2 ? "ln_1" : "input_layernorm", Norm(c.hiddenSize, c.normEps, !gpt2));
  m_attn = register_module(gpt2 ? "attn" : "self_attn", Attention(c));
  m_norm2 = register_module(gpt2 ? "ln_2" : "post_attention_layernorm",
                            Norm(c.hiddenSize, c.normEps, !gpt2));
  m_mlp = register_module("mlp", Mlp(c));
}

at::Tensor BlockImpl::forward(const at::Tensor& x, int64_t layer, const AttentionContext& ctx,
                              at::Tensor* probs) {
  at::Tensor h = x + m_attn->forward(m_norm1(x), layer, ctx, probs);
  return h + m_mlp(m_norm2(h));
}

DecoderStackImpl::DecoderStackImpl(const ModelConfig& c) {
  const bool gpt2 = c.family == ModelFamily::Gpt2;
  m_tokens = register_module(gpt2 ? "wte" : "embed_tokens", Embedding(c.vocabSize, c.hiddenSize));
  if (gpt2) m_positions = register_module("wpe", Embedding(c.maxPositions, c.hiddenSize));
  m_blocks = register_module(gpt2 ? "h" : "layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.numLayers; ++i) m_blocks->push_back(Block(c));
  m_final = register_module(gpt2 ? "ln_f" : "norm", Norm(c.hiddenSize, c.normEps, !gpt2));
}

at::Tensor DecoderStackImpl::forward(const at::Tensor& ids, const at::Tensor& positionIds,
                                     const AttentionContext& ctx,
                                     std::vector<at::Tensor>* attentions) {
  at::Tensor x = m_tokens(ids);
  if (!m_positions.is_empty()) x = x + m_positions(positionIds);
  for (size_t i = 0; i < m_blocks->size(); ++i) {
    at::Tensor probs;
    x = m_blocks->ptr<BlockImpl>(i)->forward(x, static_cast<int64_t>(i), ctx,
                                             attentions != nullptr ? &probs : nullptr);
    if (attentions != nullptr) attentions->push_back(probs);
  }
  return m_final(x);
}

}  // namespace nmar::core
