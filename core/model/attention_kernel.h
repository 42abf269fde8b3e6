#pragma once
/**
 * @file Which implementation computes attention when no probabilities are asked for: the explicit
 * matmul-softmax path (attend() in model/attention.h) or LibTorch's scaled_dot_product_attention,
 * which picks a fused kernel (flash or memory-efficient attention on CUDA, a fused kernel on CPU)
 * where one fits. Attention probabilities (ForwardOptions::returnAttention) always come from the
 * explicit path.
 */
#include <string>

#include <ATen/ATen.h>

namespace nmar::core {

enum class AttentionKernel {
  kAuto,      ///< kLibrary with LibTorch 2.0 or later, kExplicit before (no fused kernel there)
  kExplicit,  ///< matmul, fp32 masked softmax, matmul
  kLibrary,   ///< scaled_dot_product_attention (before 2.0: the unfused _scaled_dot_product_attention)
};

/** kAuto resolved for the LibTorch this was built with; the others unchanged. */
AttentionKernel resolveAttentionKernel(AttentionKernel kernel);

/**
 * The process-wide choice (default kAuto), for benchmarks and for tests that compare the paths.
 * Read at every attention call; set it between forward passes, not during one.
 */
void setAttentionKernel(AttentionKernel kernel);
AttentionKernel attentionKernel();

/** "auto", "explicit", "library". */
const char* attentionKernelName(AttentionKernel kernel);
/** The inverse of attentionKernelName(); throws Error naming @p text and the choices. */
AttentionKernel parseAttentionKernel(const std::string& text);

/**
 * attend() without probabilities, through LibTorch's scaled_dot_product_attention. @p q
 * `[B, H, Q, Dh]`, @p k and @p v `[B, Hkv, K, Dh]`: grouped-query heads are stacked along the
 * query axis as in attend() (kv is not repeated). @p blocked (bool, true = hidden, broadcastable
 * to `[B, H, Q, K]`, or undefined) becomes an additive mask holding the lowest value of q's dtype,
 * so a row with no visible key is uniform here too, not NaN. Returns `[B, H, Q, Dh]`.
 */
at::Tensor attendLibrary(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& blocked);

}  // namespace nmar::core
