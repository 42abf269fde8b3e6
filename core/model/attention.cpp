#include "model/attention.h"

#include <cmath>
#include <limits>

#include "model/attention_kernel.h"

namespace nmar::core {

std::pair<at::Tensor, at::Tensor> ropeTables(const at::Tensor& positionIds, int64_t headDim,
                                             double theta, at::ScalarType dtype) {
  at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat).device(positionIds.device());
  // inv_freq = 1 / theta^(arange(0, Dh, 2) / Dh), computed in fp32 like Hugging Face.
  at::Tensor exponents =
      at::arange(0, headDim, 2, f32.dtype(at::kLong)).to(at::kFloat) / static_cast<double>(headDim);
  at::Tensor invFreq = 1.0 / at::pow(theta, exponents);
  at::Tensor angles = positionIds.to(at::kFloat).unsqueeze(-1) * invFreq;  // [B, Q, Dh/2]
  at::Tensor emb = at::cat({angles, angles}, -1).unsqueeze(1);             // [B, 1, Q, Dh]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor rotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);
  at::Tensor x2 = x.narrow(-1, half, x.size(-1) - half);
  return at::cat({-x2, x1}, -1);
}

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + rotateHalf(x) * sin;
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& blocked, at::Tensor* probs) {
  const int64_t b = q.size(0), h = q.size(1), nq = q.size(2), dh = q.size(3);
  const int64_t hkv = k.size(1), nk = k.size(2), rep = h / hkv;
  // Query heads sharing a kv head are stacked along the query axis, so kv is never copied.
  at::Tensor grouped = q.contiguous().view({b, hkv, rep * nq, dh});
  at::Tensor scores = at::matmul(grouped, k.transpose(-1, -2)).view({b, h, nq, nk});
  scores = scores.to(at::kFloat) * (1.0 / std::sqrt(static_cast<double>(dh)));
  if (blocked.defined()) scores = scores.masked_fill(blocked, std::numeric_limits<float>::lowest());
  at::Tensor p = at::softmax(scores, -1);
  if (probs != nullptr) *probs = p;
  at::Tensor out = at::matmul(p.to(v.scalar_type()).view({b, hkv, rep * nq, nk}), v);
  return out.view({b, h, nq, dh});
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : m_gpt2(c.family == ModelFamily::Gpt2),
      m_heads(c.numHeads),
      m_kvHeads(c.numKvHeads),
      m_headDim(c.headDim) {
  const int64_t d = c.hiddenSize, qDim = m_heads * m_headDim, kvDim = m_kvHeads * m_headDim;
  if (m_gpt2) {
    m_cAttn = register_module("c_attn", Projection(d, 3 * d, c.attentionBias, /*conv1d=*/true));
    m_cProj = register_module("c_proj", Projection(d, d, c.attentionOutBias, /*conv1d=*/true));
  } else {
    m_q = register_module("q_proj", Projection(d, qDim, c.attentionBias, false));
    m_k = register_module("k_proj", Projection(d, kvDim, c.attentionBias, false));
    m_v = register_module("v_proj", Projection(d, kvDim, c.attentionBias, false));
    m_o = register_module("o_proj", Projection(qDim, d, c.attentionOutBias, false));
  }
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, int64_t layer, const AttentionContext& ctx,
                                  at::Tensor* probs) {
  const int64_t b = x.size(0), nq = x.size(1);
  auto heads = [&](const at::Tensor& t, int64_t n) {
    return t.view({b, nq, n, m_headDim}).transpose(1, 2);  // [B, n, Q, Dh]
  };
  at::Tensor q, k, v;
  if (m_gpt2) {
    std::vector<at::Tensor> qkv = m_cAttn(x).split(m_heads * m_headDim, -1);
    q = heads(qkv[0], m_heads);
    k = heads(qkv[1], m_heads);
    v = heads(qkv[2], m_heads);
  } else {
    q = applyRope(heads(m_q(x), m_heads), ctx.cos, ctx.sin);
    k = applyRope(heads(m_k(x), m_kvHeads), ctx.cos, ctx.sin);
    v = heads(m_v(x), m_kvHeads);
  }
  if (ctx.cache != nullptr) {
    ctx.cache->append(layer, k, v);
    k = ctx.cache->keys(layer);
    v = ctx.cache->values(layer);
  }
  at::Tensor out = probs == nullptr && resolveAttentionKernel(attentionKernel()) ==
                                           AttentionKernel::kLibrary
                       ? attendLibrary(q, k, v, ctx.blocked)
                       : attend(q, k, v, ctx.blocked, probs);
  out = out.transpose(1, 2).reshape({b, nq, m_heads * m_headDim});
  return m_gpt2 ? m_cProj(out) : m_o(out);
}

}  // namespace nmar::core
