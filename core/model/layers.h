#pragma once
/**
 * @file Building blocks of the Transformer whose parameters carry Hugging Face's names: projections
 * (Linear or GPT-2 Conv1D layout), embeddings, LayerNorm/RMSNorm and the MLP.
 */
#include <string>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/model_config.h"

namespace nmar::core {

/**
 * A dense projection with parameters "weight" (and "bias" when asked). Layout: Linear's
 * `[out, in]`, or GPT-2 Conv1D's `[in, out]` when @p conv1d is true, so that the tensors are stored
 * exactly as in Hugging Face checkpoints. Parameters start uninitialised (see initWeights()).
 */
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(int64_t in, int64_t out, bool bias, bool conv1d);
  /** `[..., in]` -> `[..., out]`. */
  at::Tensor forward(const at::Tensor& x);
  const at::Tensor& weight() const { return m_weight; }

 private:
  at::Tensor m_weight, m_bias;
  int64_t m_in, m_out;
  bool m_conv1d;
};
TORCH_MODULE(Projection);

/** A lookup table with one parameter "weight" `[num, dim]`. */
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num, int64_t dim);
  /** int64 ids of any shape -> `[..., dim]`. Ids must be in range (checked by the caller). */
  at::Tensor forward(const at::Tensor& ids);
  const at::Tensor& weight() const { return m_weight; }

 private:
  at::Tensor m_weight;
};
TORCH_MODULE(Embedding);

/**
 * LayerNorm ("weight", "bias"; GPT-2) or RMSNorm ("weight"; Llama family). RMSNorm is computed in
 * fp32 and cast back before the weight is applied, as Hugging Face does.
 */
class NormImpl : public torch::nn::Module {
 public:
  NormImpl(int64_t dim, double eps, bool rms);
  at::Tensor forward(const at::Tensor& x);

 private:
  at::Tensor m_weight, m_bias;
  int64_t m_dim;
  double m_eps;
  bool m_rms;
};
TORCH_MODULE(Norm);

/** Applies the activation named as in HF configs ("gelu_new" = tanh approximation, "silu", ...). */
at::Tensor activation(const at::Tensor& x, const std::string& name);

/**
 * Feed-forward part of a block. GPT-2: c_fc -> act -> c_proj (Conv1D layout, biases).
 * Llama family: down_proj(act(gate_proj(x)) * up_proj(x)) (SwiGLU).
 */
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& x);

 private:
  std::string m_act;
  bool m_gated;
  Projection m_fc{nullptr}, m_proj{nullptr};                   // GPT-2
  Projection m_gate{nullptr}, m_up{nullptr}, m_down{nullptr};  // Llama
};
TORCH_MODULE(Mlp);

}  // namespace nmar::core
