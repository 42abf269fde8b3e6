#include "train/detector_trainer.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/optim/adamw.h>

#include "util/error.h"

namespace nmar::core {

double trainDetector(DetectorHead& head, const DetectorSamples& samples,
                     const DetectorTrainSettings& s, const DetectorProgress& progress,
                     int logEvery, const std::atomic<bool>* cancel) {
  const std::int64_t n = samples.size();
  if (n == 0) throw Error("detector training: no samples");
  if (samples.features.size(1) != head->config().hiddenSize)
    throw Error("detector training: samples of width " + std::to_string(samples.features.size(1)) +
                ", the detector reads hidden size " + std::to_string(head->config().hiddenSize));
  const double pos = static_cast<double>(samples.positives());
  const double neg = static_cast<double>(n) - pos;
  if (pos == 0 || neg == 0)
    throw Error("detector training: the samples hold " + std::to_string(int64_t(pos)) +
                " deviations and " + std::to_string(int64_t(neg)) +
                " correct tokens (expected both)");
  if (s.steps < 1 || s.batchSize < 1 || !(s.lr > 0))
    throw Error("detector training: steps, batch size and learning rate must be positive");
  head->train();
  torch::optim::AdamW opt(head->parameters(),
                          torch::optim::AdamWOptions(s.lr).weight_decay(s.weightDecay));
  const at::Tensor posWeight = at::full({1}, s.balance ? neg / pos : 1.0, at::kFloat);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(s.seed);
  const int tail = std::max(1, s.steps / 10);
  double tailLoss = 0;
  int tailSteps = 0;
  for (int step = 1; step <= s.steps; ++step) {
    if (cancel != nullptr && cancel->load()) break;
    const at::Tensor idx = at::randint(n, {std::min<std::int64_t>(s.batchSize, n)}, gen,
                                       at::TensorOptions().dtype(at::kLong));
    const at::Tensor x = samples.features.index_select(0, idx);
    const at::Tensor y = samples.labels.index_select(0, idx);
    opt.zero_grad();
    const at::Tensor logits = head->forward(x);
    const at::Tensor loss = at::binary_cross_entropy_with_logits(
        logits, y.to(logits.device()), {}, posWeight.to(logits.device()), at::Reduction::Mean);
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    if (step > s.steps - tail) {
      tailLoss += l;
      ++tailSteps;
    }
    if (progress && logEvery > 0 && (step % logEvery == 0 || step == s.steps)) progress(step, l);
  }
  head->eval();
  return tailSteps > 0 ? tailLoss / tailSteps : 0.0;
}

std::vector<double> scoreSamples(DetectorHead& head, const DetectorSamples& samples) {
  if (samples.size() == 0) return {};
  torch::NoGradGuard noGrad;
  const bool was = head->is_training();
  head->eval();
  const at::Tensor p = at::sigmoid(head->forward(samples.features)).to(at::kCPU, at::kDouble);
  head->train(was);
  const double* d = p.contiguous().data_ptr<double>();
  return std::vector<double>(d, d + p.numel());
}

std::vector<int> sampleLabels(const DetectorSamples& samples) {
  std::vector<int> out;
  if (samples.size() == 0) return out;
  const at::Tensor l = samples.labels.to(at::kCPU, at::kFloat).contiguous();
  const float* p = l.data_ptr<float>();
  for (std::int64_t i = 0; i < l.numel(); ++i) out.push_back(p[i] > 0.5f ? 1 : 0);
  return out;
}

}  // namespace nmar::core
