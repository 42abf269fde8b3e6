#pragma once
/**
 * @file EvalMode: puts a module in eval mode for a scope and restores its training flag at the
 * end (dropout off during evaluations, decoding and detector scoring inside a training loop). Works
 * with any torch::nn::ModuleHolder (Transformer, DetectorHead, ...); an empty holder is left alone.
 */
#include <utility>

namespace nmar::core {

template <typename Holder>
class EvalMode {
 public:
  explicit EvalMode(Holder module)
      : m_module(std::move(module)), m_wasTraining(!m_module.is_empty() && m_module->is_training()) {
    if (!m_module.is_empty()) m_module->eval();
  }
  ~EvalMode() {
    if (!m_module.is_empty()) m_module->train(m_wasTraining);
  }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  Holder m_module;
  bool m_wasTraining;
};

}  // namespace nmar::core
