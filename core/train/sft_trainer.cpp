#include "train/sft_trainer.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include "data/curriculum.h"
#include "data/deviation.h"
#include "data/example_source.h"
#include "data/random.h"
#include "data/sequence.h"
#include "data/task.h"
#include "model/undo_token.h"
#include "train/autocast.h"
#include "train/detector_joint.h"
#include "train/distributed.h"
#include "train/experiment_model.h"
#include "train/sft_batch.h"
#include "train/sft_loss.h"
#include "train/optimizer_state.h"
#include "train/train_checkpoint.h"
#include "util/device.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/** Clips the gradients of @p params to @p maxNorm (0: no clipping); returns their norm before. */
double clipGradients(std::vector<at::Tensor>& params, double maxNorm) {
  if (maxNorm > 0.0) return torch::nn::utils::clip_grad_norm_(params, maxNorm);
  double sq = 0.0;
  for (const auto& p : params) {
    if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
  }
  return std::sqrt(sq);
}

}  // namespace

const char* trainStatusName(TrainStatus status) {
  switch (status) {
    case TrainStatus::kFinished:
      return "finished";
    case TrainStatus::kCancelled:
      return "cancelled";
    case TrainStatus::kFailed:
      return "failed";
  }
  return "?";
}

/** The detector's loss sums over steps ([detector] runs). */
struct DetectorSums {
  double sum = 0.0;
  double count = 0.0;
  double correct = 0.0;

  void accumulate(const DetectorSums& o) {
    sum += o.sum, count += o.count, correct += o.correct;
  }
};

/** A padded micro-batch ready for the model. */
struct SftTrainer::Batch : SftBatch {
  double globalWeight = 0.0;  ///< data-parallel: loss weight of the whole batch (all ranks)
  at::Tensor detectorLabels;  ///< [detector]: [B, T] stack labels (-1: none)
  double detectorNormaliser = 1.0;  ///< labelled positions of the whole batch (all ranks)
  double detectorPosWeight = 1.0;   ///< negatives / positives of the whole batch
  double dataSeconds = 0.0;
  double maskSeconds = 0.0;
};

/** Sums since the last metric row. */
struct SftTrainer::Window {
  SftLoss loss;
  DetectorSums detector;
  double gradNorm = 0.0;
  int steps = 0;
  StepTiming timing;
  double seconds = 0.0;
  Clock::time_point start = Clock::now();
};

SftTrainer::SftTrainer(ExperimentConfig config, TrainObserver* observer,
                       std::shared_ptr<DistributedContext> dist)
    : m_config(std::move(config)),
      m_observer(observer),
      m_dist(dist ? std::move(dist) : std::make_shared<DistributedContext>()),
      m_rng(m_config.seed),
      m_window(std::make_unique<Window>()) {
  buildModel();
  buildData();
  if (m_config.detector.enabled) {
    DetectorConfig dc;
    dc.hiddenSize = m_pretrained.model->config().hiddenSize;
    dc.innerSize = m_config.detector.innerSize;
    dc.tau = m_config.detector.tau;
    m_detector = DetectorHead(dc, m_config.seed + 7919);
    m_detector->to(m_pretrained.model->device());
    m_detector->train();
  }
  std::vector<at::Tensor> params = trainableParameters();
  auto options = torch::optim::AdamWOptions(m_config.optim.schedule.peak)
                     .betas({m_config.optim.beta1, m_config.optim.beta2})
                     .eps(m_config.optim.eps)
                     .weight_decay(m_config.optim.weightDecay);
  m_optimizer = std::make_unique<torch::optim::AdamW>(params, options);
  if (m_dist->distributed()) {
    if (m_config.train.batchSize < m_dist->worldSize()) {
      throw Error(m_config.source.string() + ": [train].batch_size: " +
                  std::to_string(m_config.train.batchSize) + " is less than the " +
                  std::to_string(m_dist->worldSize()) + " data-parallel processes");
    }
    m_dist->broadcastParameters(params);
  }
}

SftTrainer::~SftTrainer() = default;

bool SftTrainer::isMain() const { return m_dist->isMain(); }

std::vector<at::Tensor> SftTrainer::trainableParameters() const {
  std::vector<at::Tensor> params = m_pretrained.model->parameters();
  if (m_detector) {
    for (const at::Tensor& p : m_detector->parameters()) params.push_back(p);
  }
  return params;
}

void SftTrainer::buildModel() {
  ExperimentConfig local = m_config;  // each rank trains on its own device (cuda:LOCAL_RANK)
  local.device = m_dist->trainingDevice(parseDevice(m_config.device)).str();
  m_pretrained = buildExperimentModel(local, m_observer);
  m_undoId = *undoTokenId(m_pretrained);
  auto eos = m_pretrained.tokenizer->eosId();
  m_eosId = eos ? *eos : -1;
  m_pretrained.model->train();
}

void SftTrainer::buildData() {
  const std::filesystem::path base = m_config.source.parent_path();
  m_source = makeExampleSource(m_config.data, m_config.seed, base);
  DeviationSettings dev =
      DeviationSettings::fromJson(m_config.deviation, m_config.source.string() + ": [deviation]");
  Transformer injectModel =
      (dev.kind == DeviationKind::kConfusable || dev.kind == DeviationKind::kSelf)
          ? m_pretrained.model
          : Transformer(nullptr);
  m_injector = std::make_unique<DeviationInjector>(
      dev, m_undoId, m_pretrained.model->config().vocabSize, injectModel);
  m_curriculum = std::make_unique<Curriculum>(
      Curriculum::fromJson(m_config.curriculum, m_config.source.string() + ": [curriculum]"));
  const nlohmann::json& evalCfg = m_config.evalData.empty() ? m_config.data : m_config.evalData;
  auto held = makeExampleSource(evalCfg, m_config.eval.seed, base);
  for (int i = 0; i < m_config.eval.examples; ++i) m_heldOut.push_back(held->next());
  m_verify = [](const Example& e, const std::string& out) { return verifyExample(e, out); };
}

Verdict SftTrainer::verify(const Example& example, const std::string& output) const {
  return m_verify(example, output);
}

SftTrainer::Batch SftTrainer::nextBatch() {
  Batch b;
  const auto t0 = Clock::now();
  const std::optional<std::int64_t> eos = m_eosId >= 0 ? std::optional(m_eosId) : std::nullopt;
  std::vector<TrainingSequence> rows;
  for (int i = 0; i < m_config.train.batchSize; ++i) {
    TrainingSequence seq = encodeExample(*m_pretrained.tokenizer, m_source->next(), eos);
    const Curriculum::Draw draw = m_curriculum->draw(m_rng);
    seq = m_injector->maybeInject(seq, m_rng, draw.events, draw.maxLength);
    rows.push_back(std::move(seq));
  }
  const auto t1 = Clock::now();
  b.dataSeconds = std::chrono::duration<double>(t1 - t0).count();
  const c10::Device device = m_pretrained.model->device();
  const AttentionMode mode = m_config.train.mode;
  std::size_t begin = 0, end = rows.size();
  if (!m_dist->distributed()) {
    static_cast<SftBatch&>(b) = buildSftBatch(rows, 0, rows.size(), m_undoId, mode, device);
  } else {
    // Every rank draws the whole batch (the data and RNG of one process) and trains on its rows;
    // the weights of all rows (no masks: cheap) give the whole batch's loss normaliser.
    const SftBatch all = buildSftBatch(rows, 0, rows.size(), m_undoId, mode, device, false);
    b.globalWeight = sftWeightSum(all.nmar, m_config.train.naive, m_config.train.promptLoss);
    std::tie(begin, end) =
        shardRange(m_config.train.batchSize, m_dist->rank(), m_dist->worldSize());
    static_cast<SftBatch&>(b) = buildSftBatch(rows, begin, end, m_undoId, mode, device);
  }
  if (m_detector) {
    // Normaliser and class weight from the whole batch, so a data-parallel step equals one
    // process's step on it.
    const DetectorLabelCounts counts = countStackLabels(rows, m_undoId);
    b.detectorNormaliser = std::max<double>(1.0, static_cast<double>(counts.total()));
    b.detectorPosWeight = counts.posWeight(m_config.detector.balance);
    b.detectorLabels = stackLabelTensor(rows, begin, end, b.ids.size(1), m_undoId, device);
  }
  b.maskSeconds = secondsSince(t1);
  return b;
}

StepTiming SftTrainer::trainStep() {
  StepTiming timing;
  Transformer& model = m_pretrained.model;
  model->train();
  if (m_detector) m_detector->train();
  const AttentionMode mode = m_config.train.mode;
  const int accumulation = m_config.train.accumulation;
  SftLoss total;
  DetectorSums detector;
  for (int micro = 0; micro < accumulation; ++micro) {
    Batch batch = nextBatch();
    timing.dataSeconds += batch.dataSeconds;
    timing.maskSeconds += batch.maskSeconds;
    timing.tokens += batch.tokens;
    const auto t0 = Clock::now();
    ForwardOptions fo;
    fo.mask = batch.nmar.mask(mode);
    fo.positionIds = batch.nmar.positions(mode);
    fo.returnHidden = static_cast<bool>(m_detector);
    ForwardOutput out;
    {
      AutocastGuard autocast(m_config.dtype == "bf16" && model->device().is_cuda());
      out = model->forward(batch.ids, fo);
    }
    SftLoss loss = sftLoss(out.logits, batch.nmar, m_config.train.naive, m_config.train.promptLoss);
    loss.tokens = batch.tokens;
    // Data-parallel: this rank's share of the whole batch's weighted token mean; a non-finite
    // loss is found after the all-reduce, on every rank at once.
    at::Tensor objective =
        m_dist->distributed() ? loss.nllSum / std::max(1.0, batch.globalWeight) : loss.loss;
    if (m_detector) {
      const JointDetectorLoss d =
          jointDetectorLoss(m_detector, out.hidden, batch.detectorLabels, batch.detectorPosWeight,
                            batch.detectorNormaliser, m_config.detector.detach);
      objective = objective + m_config.detector.weight * d.loss;
      detector.accumulate({d.sum, static_cast<double>(d.count), static_cast<double>(d.correct)});
      if (!std::isfinite(d.sum) && !m_dist->distributed()) {
        throw NonFiniteLoss("detector loss is " + std::string(std::isnan(d.sum) ? "NaN" : "infinite") +
                            " at step " + std::to_string(m_step + 1));
      }
    }
    if (!std::isfinite(loss.value) && !m_dist->distributed()) {
      throw NonFiniteLoss("loss is " + std::string(std::isnan(loss.value) ? "NaN" : "infinite") +
                          " at step " + std::to_string(m_step + 1) + " (micro-batch " +
                          std::to_string(micro + 1) + ")");
    }
    (objective / static_cast<double>(accumulation)).backward();
    total.accumulate(loss);
    timing.modelSeconds += secondsSince(t0);
  }
  const auto t0 = Clock::now();
  std::vector<at::Tensor> params = trainableParameters();
  if (m_dist->distributed()) {
    // One collective per step: the gradients, with the loss sums and the stop flag riding along.
    std::vector<double> extra = total.sums();
    const std::size_t lossSums = extra.size();
    extra.push_back(detector.sum);
    extra.push_back(detector.count);
    extra.push_back(detector.correct);
    extra.push_back(m_cancel && m_cancel->load() ? 1.0 : 0.0);
    const auto tc = Clock::now();
    m_dist->allReduceGradients(params, Reduce::kSum, DistributedContext::kDefaultBucketBytes,
                               &extra);
    timing.commSeconds += secondsSince(tc);
    m_stopRequested = extra.back() > 0.5;
    detector = {extra[lossSums], extra[lossSums + 1], extra[lossSums + 2]};
    extra.resize(lossSums);
    total = SftLoss::fromSums(extra);
    if (!std::isfinite(total.value) || !std::isfinite(detector.sum)) {
      m_optimizer->zero_grad();
      throw NonFiniteLoss("loss is " + std::string(std::isnan(total.value) ? "NaN" : "infinite") +
                          " at step " + std::to_string(m_step + 1));
    }
  }
  // The model's gradient norm (clipped on its own: a detector head is clipped separately, so a
  // detached head leaves the model's update exactly that of plain SFT).
  std::vector<at::Tensor> modelParams = model->parameters();
  const double gradNorm = clipGradients(modelParams, m_config.optim.clipNorm);
  if (m_detector) {
    std::vector<at::Tensor> headParams = m_detector->parameters();
    const double headNorm = clipGradients(headParams, m_config.optim.clipNorm);
    if (!std::isfinite(headNorm)) {
      m_optimizer->zero_grad();
      throw NonFiniteLoss("detector gradient norm is not finite at step " +
                          std::to_string(m_step + 1));
    }
  }
  if (!std::isfinite(gradNorm)) {
    m_optimizer->zero_grad();
    throw NonFiniteLoss("gradient norm is not finite at step " + std::to_string(m_step + 1));
  }
  const double lr = m_config.optim.schedule.at(m_step);
  for (auto& group : m_optimizer->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  m_optimizer->step();
  m_optimizer->zero_grad();
  ++m_step;
  const int stageBefore = m_curriculum->stageIndex();
  m_curriculum->onStep(m_step);
  if (m_observer && isMain() && m_curriculum->stageIndex() != stageBefore) {
    m_observer->onMessage("curriculum: step " + std::to_string(m_step) + " -> " +
                          m_curriculum->describe());
  }
  timing.modelSeconds += secondsSince(t0);
  m_window->detector.accumulate(detector);
  logStep(total, gradNorm, lr, timing);
  return timing;
}

void SftTrainer::logStep(const SftLoss& loss, double gradNorm, double lr, const StepTiming& t) {
  Window& w = *m_window;
  w.loss.accumulate(loss);
  w.gradNorm += gradNorm;
  w.steps += 1;
  w.timing.dataSeconds += t.dataSeconds;
  w.timing.maskSeconds += t.maskSeconds;
  w.timing.modelSeconds += t.modelSeconds;
  w.timing.commSeconds += t.commSeconds;
  w.timing.tokens += t.tokens;
  const double stepSeconds = t.dataSeconds + t.maskSeconds + t.modelSeconds;
  if (m_observer) {  // tokens of all ranks
    m_observer->onProgress(m_step, m_config.train.steps, loss.value,
                           stepSeconds > 0 ? loss.tokens / stepSeconds : 0.0);
  }
  if (m_step % m_config.train.logEvery != 0 && m_step != m_config.train.steps) return;
  const double seconds = secondsSince(w.start);
  const double busy = w.timing.dataSeconds + w.timing.maskSeconds + w.timing.modelSeconds;
  std::map<std::string, double> m = {
      {"train/loss", w.loss.value},
      {"train/lr", lr},
      {"train/grad_norm", w.gradNorm / w.steps},
      {"train/tokens_per_s", seconds > 0 ? w.loss.tokens / seconds : 0.0},
      {"train/mask_fraction", busy > 0 ? w.timing.maskSeconds / busy : 0.0},
      {"train/curriculum_stage", m_curriculum->stageIndex()},
  };
  for (TargetGroup g :
       {TargetGroup::kPrefix, TargetGroup::kDetect, TargetGroup::kCorrect, TargetGroup::kRest}) {
    const double v = w.loss.groupMean(g);
    if (std::isfinite(v)) m["train/loss_" + targetGroupName(g)] = v;
  }
  const double dev = w.loss.deviationLikelihood();
  if (std::isfinite(dev)) m["train/deviation_logprob"] = dev;
  if (m_detector && w.detector.count > 0) {
    m["train/detector_loss"] = w.detector.sum / w.detector.count;
    m["train/detector_acc"] = w.detector.correct / w.detector.count;
  }
  if (m_dist->distributed()) {
    m["train/world_size"] = m_dist->worldSize();
    m["train/comm_fraction"] = busy > 0 ? w.timing.commSeconds / busy : 0.0;
  }
  if (m_observer && isMain()) m_observer->onMetrics(m_step, m);
  *m_window = Window{};
}

EvalResult SftTrainer::evaluateNow(const std::atomic<bool>* cancel) {
  EvalSettings s;
  s.undoId = m_undoId;
  s.eosId = m_eosId;
  s.maxNewTokens = m_config.eval.maxNewTokens;
  s.teacherMode = m_config.train.mode;
  s.keepTraces = m_config.eval.traces;
  s.seed = m_config.eval.seed;
  EvalResult r;
  if (isMain()) {
    r = evaluate(m_pretrained.model, *m_pretrained.tokenizer, m_heldOut, m_verify, s, cancel);
    if (m_detector) {
      const auto t0 = Clock::now();
      r.extra = evaluateDetector(m_pretrained.model, *m_pretrained.tokenizer, m_heldOut, m_verify,
                                 m_detector, m_config.detector, s, cancel);
      r.extra["eval/detector_seconds"] = secondsSince(t0);
    }
  }
  // The other ranks wait here for rank 0's detection rate (the curriculum may follow it).
  r.detectionRate = m_dist->broadcast(r.detectionRate);
  m_curriculum->reportCompetence(r.detectionRate, m_step);
  if (m_observer && isMain()) {
    m_observer->onMetrics(m_step, r.metrics());
    m_observer->onEval(m_step, r);
  }
  return r;
}

nlohmann::json SftTrainer::stateJson() const {
  return {{"format", "nmar-trainer-state/1"},
          {"step", m_step},
          {"rng", rngStateText(m_rng)},
          {"source", m_source->state()},
          {"curriculum", m_curriculum->state()},
          {"experiment", m_config.toJson()},
          {"extra", m_extra}};
}

std::filesystem::path SftTrainer::saveCheckpoint() {
  std::filesystem::path dir = m_config.outDir / ("checkpoint-" + std::to_string(m_step));
  if (isMain()) {
    std::function<void(const std::filesystem::path&)> extraFiles;
    if (m_detector) {
      extraFiles = [this](const std::filesystem::path& tmp) {
        m_detector->config().training = {{"joint", true},
                                         {"experiment", m_config.name},
                                         {"step", m_step},
                                         {"seed", m_config.seed},
                                         {"labels", "stack"},
                                         {"weight", m_config.detector.weight},
                                         {"detach", m_config.detector.detach}};
        saveDetector(tmp, m_detector);
      };
    }
    dir = writeTrainCheckpoint(m_config.outDir, m_step, m_pretrained, *m_optimizer, stateJson(),
                               m_config.checkpoint.keep, extraFiles);
  }
  m_dist->barrier();  // the checkpoint exists for every rank from here on
  m_lastCheckpoint = dir;
  if (m_observer && isMain()) m_observer->onCheckpoint(m_step, dir);
  return dir;
}

void SftTrainer::resume(const std::filesystem::path& checkpoint) {
  std::filesystem::path dir = checkpoint.empty() ? latestCheckpoint(m_config.outDir) : checkpoint;
  if (dir.empty()) {
    throw Error("resume: no checkpoint under " + m_config.outDir.string());
  }
  TrainCheckpoint ck = readTrainCheckpoint(dir);
  checkResumable(ck.state.at("experiment"), m_config.toJson(),
                 (dir / "trainer_state.json").string());
  const std::string where = (dir / "trainer_state.json").string();
  m_pretrained.model->loadStateDict(ck.weights, (dir / "model.safetensors").string());
  if (m_detector) {
    const DetectorHead saved = loadDetector(dir, m_pretrained.model->config().hiddenSize);
    m_detector->loadStateDict(saved->stateDict(), (dir / kDetectorWeightsFile).string());
  }
  loadOptimizerState(*m_optimizer, dir / kOptimizerStateFile);
  try {
    restoreRngState(m_rng, ck.state.at("rng").get<std::string>(), "field 'rng'");
    m_step = ck.state.at("step").get<std::int64_t>();
    m_source->restore(ck.state.at("source"));
    m_curriculum->restore(ck.state.at("curriculum"));
    m_extra = ck.state.value("extra", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  m_lastCheckpoint = dir;
}

TrainOutcome SftTrainer::run(const std::atomic<bool>* cancel) {
  TrainOutcome out;
  auto log = logger("core.train");
  if (m_observer) m_observer->onStart(m_step, m_config.train.steps);
  const std::int64_t evalEvery = m_config.eval.every;
  const std::int64_t ckptEvery = m_config.checkpoint.every;
  m_cancel = cancel;
  bool first = true;
  try {
    while (m_step < m_config.train.steps) {
      // Every rank stops at the same step when any of them was interrupted (the flag was
      // all-reduced with the last step's gradients; before the first step, on its own).
      const bool local = cancel && cancel->load();
      const bool stop = !m_dist->distributed() ? local
                        : first                ? m_dist->anyTrue(local)
                                               : m_stopRequested;
      first = false;
      if (stop) {
        saveCheckpoint();
        out.status = TrainStatus::kCancelled;
        out.message = "cancelled at step " + std::to_string(m_step);
        break;
      }
      trainStep();
      const bool last = m_step == m_config.train.steps;
      if (evalEvery > 0 && m_step % evalEvery == 0 && !last) evaluateNow(cancel);
      if (ckptEvery > 0 && m_step % ckptEvery == 0 && !last) saveCheckpoint();
    }
    if (out.status == TrainStatus::kFinished) {
      evaluateNow(cancel);
      saveCheckpoint();
    }
  } catch (const NonFiniteLoss& e) {
    out.status = TrainStatus::kFailed;
    out.message = std::string(e.what()) +
                  "; the weights were not updated and the last good "
                  "checkpoint is " +
                  (m_lastCheckpoint.empty() ? "(none)" : m_lastCheckpoint.string());
    log->error("{}", out.message);
    if (m_observer) m_observer->onMessage(out.message);
  }
  out.step = m_step;
  out.lastCheckpoint = m_lastCheckpoint;
  return out;
}

}  // namespace nmar::core
