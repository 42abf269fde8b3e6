#include "model/attention_kernel.h"

#include <atomic>
#include <limits>

#include <torch/version.h>

#include "util/error.h"

namespace nmar::core {
namespace {
std::atomic<AttentionKernel> g_kernel{AttentionKernel::kAuto};
}  // namespace

at::Tensor attendLibrary(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& blocked) {
  const int64_t b = q.size(0), h = q.size(1), nq = q.size(2), dh = q.size(3);
  const int64_t hkv = k.size(1), nk = k.size(2), rep = h / hkv;
  at::Tensor grouped = q.contiguous().view({b, hkv, rep * nq, dh});
  c10::optional<at::Tensor> mask;
  if (blocked.defined()) {
    // [B|1, 1|H, Q, K] -> [B, Hkv, rep * Q, K], the rows in the order of the grouped queries.
    at::Tensor expanded = blocked.expand({b, h, nq, nk}).reshape({b, hkv, rep * nq, nk});
    double lowest = std::numeric_limits<float>::lowest();
    if (q.scalar_type() == at::kBFloat16) lowest = -3.3895313892515355e38;  // bf16's lowest
    if (q.scalar_type() == at::kHalf) lowest = -65504.0;
    mask = at::zeros(expanded.sizes(), q.options()).masked_fill_(expanded, lowest);
  }
#if TORCH_VERSION_MAJOR >= 2
  at::Tensor out = at::scaled_dot_product_attention(grouped, k, v, mask, 0.0, false);
#else
  at::Tensor out = std::get<0>(at::_scaled_dot_product_attention(grouped, k, v, mask, 0.0,
                                                                 /*need_attn_weights=*/false,
                                                                 /*is_causal=*/false));
#endif
  return out.view({b, h, nq, dh});
}

void setAttentionKernel(AttentionKernel kernel) { g_kernel.store(kernel); }

AttentionKernel attentionKernel() { return g_kernel.load(std::memory_order_relaxed); }

AttentionKernel parseAttentionKernel(const std::string& text) {
  for (AttentionKernel k :
       {AttentionKernel::kAuto, AttentionKernel::kExplicit, AttentionKernel::kLibrary})
    if (text == attentionKernelName(k)) return k;
  throw Error("attention kernel '" + text + "': expected auto, explicit or library");
}

AttentionKernel resolveAttentionKernel(AttentionKernel kernel) {
  if (kernel != AttentionKernel::kAuto) return kernel;
#if TORCH_VERSION_MAJOR >= 2
  return AttentionKernel::kLibrary;
#else
  return AttentionKernel::kExplicit;
#endif
}

const char* attentionKernelName(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kExplicit:
      return "explicit";
    case AttentionKernel::kLibrary:
      return "library";
    case AttentionKernel::kAuto:
      break;
  }
  return "auto";
}

}  // namespace nmar::core
