#include "train/detector_data.h"

#include <algorithm>
#include <random>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "data/sequence.h"
#include "data/task.h"
#include "decode/pruned_decoder.h"
#include "model/eval_mode.h"
#include "nmar/masks.h"
#include "tokenizer/tokenizer.h"
#include "train/detector_labels.h"
#include "util/error.h"

namespace nmar::core {
namespace {

/** A sequence with one label per position (kNoLabel where none). */
struct LabelledRow {
  std::vector<std::int64_t> ids;
  int prompt = 0;
  std::vector<int> labels;
};

/** Hard-mask forwards over @p rows in chunks; keeps the hidden states at labelled positions. */
DetectorSamples gather(Transformer& model, const std::vector<LabelledRow>& rows,
                       std::int64_t undoId, int batchSize) {
  std::vector<at::Tensor> features;
  std::vector<float> labels;
  for (std::size_t begin = 0; begin < rows.size(); begin += std::max(1, batchSize)) {
    const std::size_t end = std::min(rows.size(), begin + std::max(1, batchSize));
    std::size_t longest = 0;
    for (std::size_t b = begin; b < end; ++b) longest = std::max(longest, rows[b].ids.size());
    at::Tensor ids = at::zeros(
        {static_cast<std::int64_t>(end - begin), static_cast<std::int64_t>(longest)}, at::kLong);
    auto acc = ids.accessor<std::int64_t, 2>();
    BatchOptions options;
    options.softMask = false;
    std::vector<int> prompts;
    for (std::size_t b = begin; b < end; ++b) {
      for (std::size_t t = 0; t < rows[b].ids.size(); ++t) acc[b - begin][t] = rows[b].ids[t];
      options.lengths.push_back(static_cast<int>(rows[b].ids.size()));
      prompts.push_back(rows[b].prompt);
    }
    const NmarBatch batch = buildNmarBatch(ids, prompts, undoId, -1, options);
    ForwardOptions fo;
    fo.mask = batch.hardMask;
    fo.positionIds = batch.hardPositions;
    fo.returnHidden = true;
    const at::Tensor hidden = model->forward(ids, fo).hidden.to(at::kCPU, at::kFloat);
    std::vector<std::int64_t> flat;
    for (std::size_t b = begin; b < end; ++b)
      for (std::size_t t = 0; t < rows[b].labels.size(); ++t)
        if (rows[b].labels[t] != kNoLabel) {
          flat.push_back(static_cast<std::int64_t>((b - begin) * longest + t));
          labels.push_back(static_cast<float>(rows[b].labels[t]));
        }
    if (flat.empty()) continue;
    features.push_back(
        hidden.reshape({-1, hidden.size(-1)}).index_select(0, at::tensor(flat, at::kLong)));
  }
  DetectorSamples out;
  const std::int64_t d = model->config().hiddenSize;
  out.features = features.empty() ? at::zeros({0, d}, at::kFloat) : at::cat(features, 0);
  out.labels = at::tensor(labels, at::kFloat);
  out.sequences = static_cast<int>(rows.size());
  return out;
}

}  // namespace

std::int64_t DetectorSamples::positives() const {
  return labels.defined() ? labels.sum().item<double>() : 0;
}

void DetectorSamples::append(const DetectorSamples& o) {
  if (!features.defined()) {
    *this = o;
    return;
  }
  if (o.features.defined()) {
    features = at::cat({features, o.features}, 0);
    labels = at::cat({labels, o.labels}, 0);
  }
  sequences += o.sequences;
  wrongOutputs += o.wrongOutputs;
  undoOutputs += o.undoOutputs;
}

std::vector<Example> makeExamples(const Task& task, int difficulty, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Example> out;
  out.reserve(static_cast<std::size_t>(std::max(0, n)));
  for (int i = 0; i < n; ++i) out.push_back(task.generate(rng, difficulty));
  return out;
}

DetectorSamples injectedSamples(Transformer model, const Tokenizer& tokenizer,
                                const std::vector<Example>& examples,
                                const DetectorDataSettings& s, std::uint64_t seed) {
  if (s.undoId < 0) throw Error("detector samples: the model has no UNDO token");
  EvalMode guard(model);
  torch::NoGradGuard noGrad;
  const DeviationInjector injector(s.deviation, s.undoId, model->config().vocabSize, model,
                                   &tokenizer);
  const std::optional<std::int64_t> eos =
      s.eosId >= 0 ? std::optional<std::int64_t>(s.eosId) : std::nullopt;
  std::mt19937_64 rng(seed);
  std::vector<LabelledRow> rows;
  for (const Example& ex : examples) {
    const TrainingSequence seq = injector.maybeInject(encodeExample(tokenizer, ex, eos), rng);
    rows.push_back({seq.ids, seq.promptLength, stackLabels(seq.ids, seq.promptLength, s.undoId)});
  }
  return gather(model, rows, s.undoId, s.batchSize);
}

DetectorSamples naturalSamples(Transformer model, const Tokenizer& tokenizer,
                               const std::vector<Example>& examples,
                               const DetectorDataSettings& s) {
  if (s.undoId < 0) throw Error("detector samples: the model has no UNDO token");
  EvalMode guard(model);
  torch::NoGradGuard noGrad;
  const std::optional<std::int64_t> eos =
      s.eosId >= 0 ? std::optional<std::int64_t>(s.eosId) : std::nullopt;
  std::vector<TrainingSequence> gold;
  int longest = 0;
  for (const Example& ex : examples) {
    gold.push_back(encodeExample(tokenizer, ex, eos));
    longest = std::max(longest, static_cast<int>(gold.back().ids.size()) - gold.back().promptLength);
  }
  DecodeSettings ds;
  ds.undoId = s.undoId;
  ds.eosId = s.eosId;
  ds.sampler.temperature = 0.0;
  ds.sampler.maxNewTokens = s.maxNewTokens > 0 ? s.maxNewTokens : 2 * longest + 8;
  std::vector<LabelledRow> rows;
  int wrong = 0, undos = 0;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const TrainingSequence& g = gold[i];
    const std::vector<std::int64_t> prompt(g.ids.begin(), g.ids.begin() + g.promptLength);
    const std::vector<std::int64_t> completion(g.ids.begin() + g.promptLength, g.ids.end());
    const Trace t = decode(model, prompt, ds, nullptr, nullptr, &tokenizer, examples[i].prompt);
    wrong += verifyExample(examples[i], t.outputText).correct ? 0 : 1;
    bool popped = false;
    for (const TraceStep& st : t.steps) popped = popped || st.kind == StepKind::kPop;
    undos += popped ? 1 : 0;
    LabelledRow row{traceSequence(t), g.promptLength, {}};
    row.labels.assign(row.ids.size(), kNoLabel);
    const std::vector<int> stepLabels = naturalLabels(t, completion);
    for (std::size_t k = 0; k < stepLabels.size(); ++k)
      row.labels[static_cast<std::size_t>(g.promptLength) + k] = stepLabels[k];
    rows.push_back(std::move(row));
  }
  DetectorSamples out = gather(model, rows, s.undoId, s.batchSize);
  out.wrongOutputs = wrong;
  out.undoOutputs = undos;
  return out;
}

}  // namespace nmar::core
