#include "model/layers.h"

#include <cmath>

#include "util/error.h"

namespace nmar::core {

ProjectionImpl::ProjectionImpl(int64_t in, int64_t out, bool bias, bool conv1d)
    : m_in(in), m_out(out), m_conv1d(conv1d) {
  m_weight = register_parameter("weight", conv1d ? at::empty({in, out}) : at::empty({out, in}));
  if (bias) m_bias = register_parameter("bias", at::zeros({out}));
}

at::Tensor ProjectionImpl::forward(const at::Tensor& x) {
  if (!m_conv1d)
    return m_bias.defined() ? at::linear(x, m_weight, m_bias) : at::linear(x, m_weight);
  // Conv1D: y = x @ W + b with W stored [in, out].
  std::vector<int64_t> outShape(x.sizes().begin(), x.sizes().end());
  outShape.back() = m_out;
  at::Tensor flat = x.reshape({-1, m_in});
  at::Tensor y = m_bias.defined() ? at::addmm(m_bias, flat, m_weight) : at::mm(flat, m_weight);
  return y.view(outShape);
}

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim) {
  m_weight = register_parameter("weight", at::empty({num, dim}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) { return at::embedding(m_weight, ids); }

NormImpl::NormImpl(int64_t dim, double eps, bool rms) : m_dim(dim), m_eps(eps), m_rms(rms) {
  m_weight = register_parameter("weight", at::ones({dim}));
  if (!rms) m_bias = register_parameter("bias", at::zeros({dim}));
}

at::Tensor NormImpl::forward(const at::Tensor& x) {
  if (!m_rms) return at::layer_norm(x, {m_dim}, m_weight, m_bias, m_eps);
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  xf = xf * at::rsqrt(variance + m_eps);
  return m_weight * xf.to(x.scalar_type());
}

at::Tensor activation(const at::Tensor& x, const std::string& name) {
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), written out as Hugging Face's NewGELU.
    const double k = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + at::tanh(k * (x + 0.044715 * at::pow(x, 3.0))));
  }
  if (name == "silu" || name == "swish") return at::silu(x);
  if (name == "gelu") return at::gelu(x);
  if (name == "relu") return at::relu(x);
  throw Error("activation '" + name + "' is not supported");
}

MlpImpl::MlpImpl(const ModelConfig& c)
    : m_act(c.hiddenAct), m_gated(c.family == ModelFamily::Llama) {
  const int64_t d = c.hiddenSize, inner = c.intermediateSize;
  if (!m_gated) {
    m_fc = register_module("c_fc", Projection(d, inner, c.mlpBias, /*conv1d=*/true));
    m_proj = register_module("c_proj", Projection(inner, d, c.mlpBias, /*conv1d=*/true));
  } else {
    m_gate = register_module("gate_proj", Projection(d, inner, c.mlpBias, false));
    m_up = register_module("up_proj", Projection(d, inner, c.mlpBias, false));
    m_down = register_module("down_proj", Projection(inner, d, c.mlpBias, false));
  }
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  if (!m_gated) return m_proj(activation(m_fc(x), m_act));
  return m_down(activation(m_gate(x), m_act) * m_up(x));
}

}  // namespace nmar::core
