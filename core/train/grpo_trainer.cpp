#include "train/grpo_trainer.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include "data/example_source.h"
#include "model/undo_token.h"
#include "train/advantages.h"
#include "train/autocast.h"
#include "train/distributed.h"
#include "train/experiment_model.h"
#include "train/grpo_loss.h"
#include "train/grpo_report.h"
#include "train/policy_logprobs.h"
#include "train/scored_trace.h"
#include "train/sft_trainer.h"
#include "train/optimizer_state.h"
#include "train/train_checkpoint.h"
#include "util/device.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool parametersFinite(const Transformer& model) {
  torch::NoGradGuard noGrad;
  for (const auto& p : model->parameters()) {
    if (!at::isfinite(p).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace

/** Per-token tensors of a step that the report needs. */
struct GrpoTrainer::Batch {
  at::Tensor advantage;  ///< [B, L] per-token advantage (CPU)
  at::Tensor ratio;      ///< [B, L] ratios at the last inner update (CPU)
};

GrpoTrainer::GrpoTrainer(ExperimentConfig config, TrainObserver* observer,
                         std::shared_ptr<DistributedContext> dist)
    : m_config(std::move(config)),
      m_observer(observer),
      m_dist(dist ? std::move(dist) : std::make_shared<DistributedContext>()) {
  const std::string file = m_config.source.string();
  if (!m_config.isGrpo()) throw Error(file + ": [run].kind: expected \"grpo\" for a GRPO run");
  {
    ExperimentConfig local = m_config;  // each rank on its own GPU (cuda:LOCAL_RANK)
    local.device = m_dist->trainingDevice(parseDevice(m_config.device)).str();
    m_pretrained = buildExperimentModel(local, m_observer);
  }
  m_undoId = *undoTokenId(m_pretrained);
  const auto eos = m_pretrained.tokenizer->eosId();
  m_eosId = eos ? *eos : -1;
  if (m_config.grpo.beta > 0.0) m_reference = frozenCopy(m_pretrained.model);
  m_pretrained.model->train();

  const std::filesystem::path base = m_config.source.parent_path();
  m_source = makeExampleSource(m_config.data, m_config.seed, base, file + ": [data]");
  const nlohmann::json& evalCfg = m_config.evalData.empty() ? m_config.data : m_config.evalData;
  auto held = makeExampleSource(evalCfg, m_config.eval.seed, base, file + ": [eval_data]");
  for (int i = 0; i < m_config.eval.examples; ++i) m_heldOut.push_back(held->next());

  const GrpoSettings& g = m_config.grpo;
  RolloutSettings& r = m_rolloutSettings;
  r.decode.mode = m_config.train.mode == AttentionMode::kHard ? TraceMode::kHard : TraceMode::kSoft;
  r.decode.undoId = m_undoId;
  r.decode.eosId = m_eosId;
  r.decode.sampler.temperature = g.temperature;
  r.decode.sampler.undoLogitBias = g.undoLogitBias;
  r.decode.sampler.maxNewTokens = g.maxCompletionLength;
  r.decode.modelName =
      m_config.model.checkpoint.empty() ? m_config.name : m_config.model.checkpoint.string();
  r.decode.validate(m_pretrained.model->config().vocabSize);
  r.numGenerations = g.numGenerations;
  r.rewards = makeRewardFunctions(m_config.rewards);
  r.undoBudget = m_config.rewards.undoBudget;
  r.creditAlpha = g.creditAlpha;
  r.creditBeta = g.creditBeta;

  auto options = torch::optim::AdamWOptions(m_config.optim.schedule.peak)
                     .betas({m_config.optim.beta1, m_config.optim.beta2})
                     .eps(m_config.optim.eps)
                     .weight_decay(m_config.optim.weightDecay);
  m_optimizer = std::make_unique<torch::optim::AdamW>(m_pretrained.model->parameters(), options);
  if (m_dist->distributed()) {
    if (g.promptsPerStep < m_dist->worldSize()) {
      throw Error(file + ": [grpo].prompts_per_step: " + std::to_string(g.promptsPerStep) +
                  " is less than the " + std::to_string(m_dist->worldSize()) +
                  " data-parallel processes");
    }
    m_dist->broadcastParameters(m_pretrained.model->parameters());
  }
}

bool GrpoTrainer::isMain() const { return m_dist->isMain(); }

GrpoTrainer::~GrpoTrainer() = default;

std::vector<Rollout> GrpoTrainer::sample() {
  std::vector<Rollout> out;
  const std::uint64_t stepSeed = mixSeed(m_config.seed, static_cast<std::uint64_t>(m_step));
  const auto [begin, end] =
      shardRange(m_config.grpo.promptsPerStep, m_dist->rank(), m_dist->worldSize());
  for (int p = 0; p < m_config.grpo.promptsPerStep; ++p) {
    const Example ex = m_source->next();  // every rank reads every prompt (same data order)
    if (p < begin || p >= end) continue;
    std::vector<Rollout> group;
    try {
      group = sampleGroup(m_pretrained.model, *m_pretrained.tokenizer, ex, p, m_rolloutSettings,
                          mixSeed(stepSeed, static_cast<std::uint64_t>(p)));
    } catch (const Error& e) {
      if (parametersFinite(m_pretrained.model)) throw;
      throw NonFiniteLoss("the policy's weights are not finite at step " +
                          std::to_string(m_step + 1) + " (" + e.what() + ")");
    }
    for (Rollout& r : group) out.push_back(std::move(r));
  }
  return out;
}

GrpoStepStats GrpoTrainer::trainStep() {
  const auto t0 = Clock::now();
  const GrpoSettings& g = m_config.grpo;
  m_rollouts = sample();
  std::vector<Rollout>& rs = m_rollouts;
  const auto B = static_cast<std::int64_t>(rs.size());
  const RolloutFacts facts = gatherFacts(rs);  // every completion of the step, on all ranks
  const std::vector<double>& totals = facts.totals;
  const std::size_t first = facts.firstLocal;

  // Rewards -> sequence advantages -> per-token advantages.
  const std::vector<double> adv = groupAdvantages(totals, g.numGenerations, g.scaleRewards);
  std::int64_t L = 1;
  for (const Rollout& r : rs) L = std::max<std::int64_t>(L, r.trace.steps.size());
  Batch batch;
  batch.advantage = at::zeros({B, L}, at::kFloat);
  auto advA = batch.advantage.accessor<float, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    Rollout& r = rs[static_cast<std::size_t>(b)];
    r.advantage = adv[first + static_cast<std::size_t>(b)];
    for (std::size_t k = 0; k < r.trace.steps.size(); ++k) {
      advA[b][static_cast<std::int64_t>(k)] =
          static_cast<float>(r.advantage + (g.tokenCredit ? r.credit.credit[k] : 0.0));
    }
  }

  std::vector<const Trace*> traces;
  for (const Rollout& r : rs) traces.push_back(&r.trace);
  PolicyForwardOptions po;
  po.undoId = m_undoId;
  po.temperature = g.temperature;
  po.undoLogitBias = g.undoLogitBias;
  po.mode = m_config.train.mode;
  Transformer& model = m_pretrained.model;
  const bool bf16 = m_config.dtype == "bf16" && model->device().is_cuda();
  at::Tensor refLogp;
  if (g.beta > 0.0) {
    torch::NoGradGuard noGrad;
    AutocastGuard autocast(bf16);
    refLogp = policyLogprobs(m_reference, traces, po).logp.detach();
  }
  const at::Tensor advantage = batch.advantage.to(model->device());
  GrpoLossOptions lo;
  lo.type = g.lossType;
  lo.epsilonLow = g.epsilon;
  lo.epsilonHigh = g.epsilonHigh;
  lo.beta = g.beta;
  lo.maxCompletionLength = g.maxCompletionLength;
  if (m_dist->distributed()) lo.totalCompletions = static_cast<double>(totals.size());

  GrpoStepStats st;
  st.lr = m_config.optim.schedule.at(m_step);
  model->train();
  for (int it = 0; it < g.numIterations; ++it) {
    po.entropy = it == 0;
    PolicyLogprobs pl;
    {
      AutocastGuard autocast(bf16);
      pl = policyLogprobs(model, traces, po);
    }
    const at::Tensor mask = pl.sampled.to(at::kFloat);
    if (m_dist->distributed() && it == 0) {
      lo.totalTokens = m_dist->allReduce({mask.sum().item<double>()})[0];
    }
    GrpoLoss loss = grpoLoss({pl.logp, pl.oldLogp, refLogp, advantage, mask}, lo);
    double entropySum = 0.0, maxDev = 0.0;
    if (it == 0) {
      torch::NoGradGuard noGrad;
      maxDev = ((loss.ratio - 1.0).abs() * mask).max().item<double>();
      entropySum = (pl.entropy * mask).sum().item<double>();
    }
    if (m_dist->distributed()) {
      // The whole batch's loss is the sum of the ranks' shares; the means are token-weighted.
      const std::vector<double> sums = m_dist->allReduce(
          {loss.value, loss.kl * loss.tokens, loss.clipRatio * loss.tokens, entropySum});
      loss.value = sums[0];
      loss.tokens = lo.totalTokens;
      loss.kl = loss.tokens > 0 ? sums[1] / loss.tokens : 0.0;
      loss.clipRatio = loss.tokens > 0 ? sums[2] / loss.tokens : 0.0;
      entropySum = sums[3];
      if (it == 0) maxDev = m_dist->allReduce({maxDev}, Reduce::kMax)[0];
    }
    if (!std::isfinite(loss.value)) {
      throw NonFiniteLoss("loss is " + std::string(std::isnan(loss.value) ? "NaN" : "infinite") +
                          " at step " + std::to_string(m_step + 1) + " (inner update " +
                          std::to_string(it + 1) + ")");
    }
    if (it == 0) {
      st.tokens = static_cast<std::int64_t>(loss.tokens);
      st.firstRatioMaxDev = maxDev;
      st.entropy = loss.tokens > 0 ? entropySum / loss.tokens : 0;
    }
    loss.loss.backward();
    std::vector<at::Tensor> params = model->parameters();
    m_dist->allReduceGradients(params, Reduce::kSum);
    st.gradNorm = m_config.optim.clipNorm > 0.0
                      ? torch::nn::utils::clip_grad_norm_(params, m_config.optim.clipNorm)
                      : torch::nn::utils::clip_grad_norm_(params, 1e30);
    if (!std::isfinite(st.gradNorm)) {
      m_optimizer->zero_grad();
      throw NonFiniteLoss("gradient norm is not finite at step " + std::to_string(m_step + 1));
    }
    for (auto& group : m_optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(st.lr);
    }
    m_optimizer->step();
    m_optimizer->zero_grad();
    st.loss = loss.value;
    st.kl += loss.kl / g.numIterations;
    st.clipRatio += loss.clipRatio / g.numIterations;
    batch.ratio = loss.ratio.cpu();
  }
  ++m_step;

  // Step statistics (over every rank's completions).
  st.reward = meanOf(totals);
  st.rewardStd = stdOf(totals);
  for (std::size_t f = 0; f < m_rolloutSettings.rewards.size(); ++f) {
    st.rewardByFunction[m_rolloutSettings.rewards[f].name] = {meanOf(facts.byFunction[f]),
                                                              stdOf(facts.byFunction[f])};
  }
  st.fracZeroStd = fracZeroStdGroups(totals, g.numGenerations);
  const auto n = static_cast<double>(totals.size());
  st.completionLength = facts.steps / n;
  st.undoPerCompletion = facts.undos / n;
  st.accuracy = facts.correct / n;
  st.uselessUndoRate = facts.undos > 0 ? facts.useless / facts.undos : kNaN;
  st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  report(st, batch);
  return st;
}

GrpoTrainer::RolloutFacts GrpoTrainer::gatherFacts(const std::vector<Rollout>& rs) {
  const int G = m_config.grpo.numGenerations;
  const std::size_t F = m_rolloutSettings.rewards.size();
  const std::size_t K = 5 + F;  // total, steps, undos, correct, useless, per-function rewards
  const std::size_t n = static_cast<std::size_t>(m_config.grpo.promptsPerStep) * G;
  const auto begin = shardRange(m_config.grpo.promptsPerStep, m_dist->rank(), m_dist->worldSize());
  RolloutFacts out;
  out.firstLocal = static_cast<std::size_t>(begin.first) * G;
  // Each rank fills its completions' rows; a sum over ranks then holds every row.
  std::vector<double> m(n * K, 0.0);
  for (std::size_t b = 0; b < rs.size(); ++b) {
    const Rollout& r = rs[b];
    double* row = &m[(out.firstLocal + b) * K];
    row[0] = r.rewards.total;
    row[1] = r.facts.steps;
    row[2] = r.facts.undos;
    row[3] = r.facts.verdict.correct ? 1 : 0;
    row[4] = r.credit.uselessUndos;
    for (std::size_t f = 0; f < F; ++f) row[5 + f] = r.rewards.values[f];
  }
  if (m_dist->distributed()) m = m_dist->allReduce(m);
  out.byFunction.assign(F, {});
  for (std::size_t i = 0; i < n; ++i) {
    const double* row = &m[i * K];
    out.totals.push_back(row[0]);
    out.steps += row[1];
    out.undos += row[2];
    out.correct += row[3];
    out.useless += row[4];
    for (std::size_t f = 0; f < F; ++f) out.byFunction[f].push_back(row[5 + f]);
  }
  return out;
}

void GrpoTrainer::report(const GrpoStepStats& st, const Batch& batch) {
  if (m_observer) {
    m_observer->onProgress(m_step, m_config.train.steps, st.loss,
                           st.seconds > 0 ? static_cast<double>(st.tokens) / st.seconds : 0.0);
  }
  m_window.push_back(st);
  if (m_observer && isMain() && m_config.grpo.traces > 0) {
    std::vector<std::string> names;
    for (const RewardFunction& f : m_rolloutSettings.rewards) names.push_back(f.name);
    m_observer->onTraces(m_step, scoredTraces(m_rollouts, names, batch.advantage, batch.ratio,
                                              m_config.grpo.traces));
  }
  if (m_step % m_config.train.logEvery != 0 && m_step != m_config.train.steps) return;
  if (m_observer && isMain()) m_observer->onMetrics(m_step, grpoMetrics(m_window));
  m_window.clear();
}

EvalResult GrpoTrainer::evaluateNow(const std::atomic<bool>* cancel) {
  EvalSettings s;
  s.undoId = m_undoId;
  s.eosId = m_eosId;
  s.maxNewTokens = m_config.eval.maxNewTokens;
  s.teacherMode = m_config.train.mode;
  s.keepTraces = m_config.eval.traces;
  s.seed = m_config.eval.seed;
  const OutputVerifier verify = [](const Example& e, const std::string& out) {
    return verifyExample(e, out);
  };
  EvalResult r;
  if (isMain()) {
    r = evaluate(m_pretrained.model, *m_pretrained.tokenizer, m_heldOut, verify, s, cancel);
  }
  m_dist->barrier();  // the other ranks wait for rank 0's evaluation
  if (m_observer && isMain()) {
    m_observer->onMetrics(m_step, r.metrics());
    m_observer->onEval(m_step, r);
  }
  return r;
}

nlohmann::json GrpoTrainer::stateJson() const {
  return {{"format", "nmar-trainer-state/1"},
          {"kind", "grpo"},
          {"step", m_step},
          {"rng", nullptr},  // completions are seeded from (seed, step, prompt, index)
          {"source", m_source->state()},
          {"curriculum", nullptr},
          {"experiment", m_config.toJson()},
          {"extra", m_extra}};
}

std::filesystem::path GrpoTrainer::saveCheckpoint() {
  std::filesystem::path dir = m_config.outDir / ("checkpoint-" + std::to_string(m_step));
  if (isMain()) {
    dir = writeTrainCheckpoint(m_config.outDir, m_step, m_pretrained, *m_optimizer, stateJson(),
                               m_config.checkpoint.keep);
  }
  m_dist->barrier();  // the checkpoint exists for every rank from here on
  m_lastCheckpoint = dir;
  if (m_observer && isMain()) m_observer->onCheckpoint(m_step, dir);
  return dir;
}

void GrpoTrainer::resume(const std::filesystem::path& checkpoint) {
  const std::filesystem::path dir =
      checkpoint.empty() ? latestCheckpoint(m_config.outDir) : checkpoint;
  if (dir.empty()) throw Error("resume: no checkpoint under " + m_config.outDir.string());
  TrainCheckpoint ck = readTrainCheckpoint(dir);
  const std::string where = (dir / "trainer_state.json").string();
  checkResumable(ck.state.at("experiment"), m_config.toJson(), where);
  m_pretrained.model->loadStateDict(ck.weights, (dir / "model.safetensors").string());
  loadOptimizerState(*m_optimizer, dir / kOptimizerStateFile);
  try {
    m_step = ck.state.at("step").get<std::int64_t>();
    m_source->restore(ck.state.at("source"));
    m_extra = ck.state.value("extra", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  m_lastCheckpoint = dir;
}

TrainOutcome GrpoTrainer::run(const std::atomic<bool>* cancel) {
  TrainOutcome out;
  if (m_observer) m_observer->onStart(m_step, m_config.train.steps);
  const std::int64_t evalEvery = m_config.eval.every;
  const std::int64_t ckptEvery = m_config.checkpoint.every;
  try {
    // A fresh run with periodic evaluation measures the starting policy first (the baseline).
    if (m_step == 0 && evalEvery > 0) evaluateNow(cancel);
    while (m_step < m_config.train.steps) {
      // Every rank stops at the same step when any of them was interrupted.
      if (m_dist->anyTrue(cancel && cancel->load())) {
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
                  "; the weights were not updated and the last good checkpoint is " +
                  (m_lastCheckpoint.empty() ? "(none)" : m_lastCheckpoint.string());
    logger("core.train")->error("{}", out.message);
    if (m_observer) m_observer->onMessage(out.message);
  }
  out.step = m_step;
  out.lastCheckpoint = m_lastCheckpoint;
  return out;
}

}  // namespace nmar::core
