#pragma once
/**
 * @file bf16 autocast on CUDA for one scope, over the LibTorch 1.13 and 2.x APIs. Without CUDA it
 * does nothing.
 */

namespace nmar::core {

/** Enables CUDA bf16 autocast for its lifetime when @p enable; restores the previous state. */
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enable);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool m_enabled = false;
  bool m_previous = false;
};

}  // namespace nmar::core
