#include "train/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace nmar::core {

// LibTorch 2.4 replaced the CUDA-specific autocast calls by device-typed ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define NMAR_AUTOCAST_DEVICE_API 1
#endif

AutocastGuard::AutocastGuard(bool enable) : m_enabled(enable) {
  if (!m_enabled) return;
#ifdef NMAR_AUTOCAST_DEVICE_API
  m_previous = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  m_previous = at::autocast::is_enabled();
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
}

AutocastGuard::~AutocastGuard() {
  if (!m_enabled) return;
#ifdef NMAR_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_enabled(at::kCUDA, m_previous);
#else
  at::autocast::set_enabled(m_previous);
#endif
  at::autocast::clear_cache();
}

}  // namespace nmar::core
