#include "train/evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "data/random.h"
#include "data/sequence.h"
#include "decode/forced_deviation.h"
#include "decode/pruned_decoder.h"
#include "model/eval_mode.h"
#include "tokenizer/tokenizer.h"
#include "train/token_credit.h"
#include "util/error.h"

namespace nmar::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Row {
  std::vector<std::int64_t> ids;
  int prompt = 0;
};

/** One padded, masked forward over @p rows; returns log-probs [B,T,V] on the CPU and the batch. */
std::pair<NmarBatch, at::Tensor> forwardRows(Transformer& model, const std::vector<Row>& rows,
                                             std::int64_t undoId, AttentionMode mode) {
  std::size_t T = 0;
  for (const auto& r : rows) T = std::max(T, r.ids.size());
  at::Tensor ids =
      at::zeros({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(T)}, at::kLong);
  auto acc = ids.accessor<std::int64_t, 2>();
  BatchOptions options;
  std::vector<int> prompts;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    for (std::size_t t = 0; t < rows[b].ids.size(); ++t) acc[b][t] = rows[b].ids[t];
    options.lengths.push_back(static_cast<int>(rows[b].ids.size()));
    prompts.push_back(rows[b].prompt);
  }
  options.hardMask = mode == AttentionMode::kHard;
  options.softMask = mode == AttentionMode::kSoft;
  NmarBatch batch = buildNmarBatch(ids, prompts, undoId, -1, options);
  ForwardOptions fo;
  fo.mask = batch.mask(mode);
  fo.positionIds = batch.positions(mode);
  at::Tensor logp = at::log_softmax(model->forward(ids, fo).logits, -1).cpu();
  return {std::move(batch), logp};
}

nlohmann::json verdictJson(const Verdict& v) {
  return {{"correct", v.correct},
          {"process", v.process},
          {"steps_right", v.stepsRight},
          {"steps_total", v.stepsTotal},
          {"detail", v.detail}};
}

double mean(double sum, double n) { return n > 0 ? sum / n : kNaN; }

}  // namespace

std::map<std::string, double> EvalResult::metrics() const {
  std::map<std::string, double> m = {{"eval/clean_acc", cleanAccuracy},
                                     {"eval/clean_process", cleanProcess},
                                     {"eval/recovery_hard", recoveryHard},
                                     {"eval/recovery_soft", recoverySoft},
                                     {"eval/recovery_resample", recoveryResample},
                                     {"eval/detection_rate", detectionRate},
                                     {"eval/detection_p_undo", detectionProb},
                                     {"eval/false_undo_rate", falseUndoRate},
                                     {"eval/false_undo_p", falseUndoProb},
                                     {"eval/deviation_logprob", deviationLikelihood},
                                     {"eval/undo_per_seq", undoPerSequence},
                                     {"eval/token_overhead", tokenOverhead},
                                     {"eval/useless_undo_rate", uselessUndoRate},
                                     {"eval/useless_undo_per_seq", uselessUndoPerSequence},
                                     {"eval/verifier_undo_per_seq", verifierUndoPerSequence},
                                     {"eval/seconds", seconds}};
  for (const auto& [name, value] : extra) m[name] = value;
  for (auto it = m.begin(); it != m.end();) {
    it = std::isnan(it->second) ? m.erase(it) : std::next(it);
  }
  return m;
}

EvalResult evaluate(Transformer model, const Tokenizer& tokenizer,
                    const std::vector<Example>& examples, const OutputVerifier& verify,
                    const EvalSettings& s, const std::atomic<bool>* cancel) {
  if (s.undoId < 0 || s.undoId >= model->config().vocabSize) {
    throw Error("evaluate: the model has no UNDO token (undo id " + std::to_string(s.undoId) + ")");
  }
  const auto t0 = std::chrono::steady_clock::now();
  EvalMode modeGuard(model);
  torch::NoGradGuard noGrad;
  std::mt19937_64 rng(s.seed);
  const std::optional<std::int64_t> eos =
      s.eosId >= 0 ? std::optional<std::int64_t>(s.eosId) : std::nullopt;

  // Encode every example once.
  std::vector<Row> clean;
  std::vector<int> completionLength;  // gold trace tokens without EOS
  int longest = 0;
  for (const auto& ex : examples) {
    TrainingSequence seq = encodeExample(tokenizer, ex, eos);
    const int comp = static_cast<int>(seq.ids.size()) - seq.promptLength - (eos ? 1 : 0);
    clean.push_back({seq.ids, seq.promptLength});
    completionLength.push_back(comp);
    longest = std::max(longest, comp);
  }
  EvalResult r;
  if (examples.empty()) return r;

  // --- teacher-forced: false UNDOs on clean prefixes, then one confusable deviation each ---
  auto [cleanBatch, cleanLogp] = forwardRows(model, clean, s.undoId, s.teacherMode);
  double falseArgmax = 0, falseProb = 0, falseN = 0;
  std::vector<Row> injected;
  std::vector<std::int64_t> devPosition;  // index of the deviation token in the injected row
  const std::vector<std::int64_t> excluded = {s.undoId, s.eosId};
  for (std::size_t b = 0; b < clean.size(); ++b) {
    const auto& row = clean[b];
    const int first = row.prompt - 1;                       // predicts the first completion token
    const int last = row.prompt - 1 + completionLength[b];  // exclusive: predictions of gold tokens
    at::Tensor lp = cleanLogp[static_cast<std::int64_t>(b)];
    for (int i = first; i < last; ++i) {
      falseArgmax += lp[i].argmax().item<std::int64_t>() == s.undoId ? 1 : 0;
      falseProb += std::exp(lp[i][s.undoId].item<double>());
      falseN += 1;
    }
    if (completionLength[b] < 1) continue;
    const int c = row.prompt + static_cast<int>(uniformInt(rng, 0, completionLength[b] - 1));
    std::vector<std::int64_t> banned = excluded;
    banned.push_back(row.ids[static_cast<std::size_t>(c)]);
    std::int64_t dev;
    try {
      dev = drawDeviation(lp[c - 1], s.deviationTopK, banned, uniformReal(rng));
    } catch (const Error&) {
      continue;  // a vocabulary with nothing else to draw: no deviation for this example
    }
    Row inj;
    inj.prompt = row.prompt;
    inj.ids.assign(row.ids.begin(), row.ids.begin() + c);
    inj.ids.push_back(dev);
    inj.ids.push_back(s.undoId);
    inj.ids.insert(inj.ids.end(), row.ids.begin() + c, row.ids.end());
    injected.push_back(std::move(inj));
    devPosition.push_back(c);
  }
  r.falseUndoRate = mean(falseArgmax, falseN);
  r.falseUndoProb = mean(falseProb, falseN);
  if (!injected.empty()) {
    auto [injBatch, injLogp] = forwardRows(model, injected, s.undoId, s.teacherMode);
    double detArgmax = 0, detProb = 0, devLogp = 0;
    for (std::size_t b = 0; b < injected.size(); ++b) {
      const std::int64_t c = devPosition[b];
      at::Tensor lp = injLogp[static_cast<std::int64_t>(b)];
      detArgmax += lp[c].argmax().item<std::int64_t>() == s.undoId ? 1 : 0;
      detProb += std::exp(lp[c][s.undoId].item<double>());
      devLogp += lp[c - 1][injected[b].ids[static_cast<std::size_t>(c)]].item<double>();
    }
    const double n = static_cast<double>(injected.size());
    r.detectionRate = detArgmax / n;
    r.detectionProb = detProb / n;
    r.deviationLikelihood = devLogp / n;
  } else {
    r.detectionRate = r.detectionProb = r.deviationLikelihood = kNaN;
  }

  // --- decodes: clean, then a forced deviation in hard and in soft mode ---
  DecodeSettings base;
  base.undoId = s.undoId;
  base.eosId = s.eosId;
  base.sampler.temperature = 0.0;
  base.sampler.maxNewTokens = s.maxNewTokens > 0 ? s.maxNewTokens : 2 * longest + 8;
  base.sampler.seed = s.seed;
  base.deviationTopK = s.deviationTopK;
  base.verifier = s.verifier;
  base.sampler.undoLogitBias = s.undoLogitBias;
  auto run = [&](const Row& row, const DecodeSettings& settings, Trace* keep,
                 const Example& ex) -> std::pair<Verdict, Trace> {
    PrunedDecoder dec(model, settings, &tokenizer);
    std::vector<std::int64_t> prompt(row.ids.begin(), row.ids.begin() + row.prompt);
    dec.start(prompt, ex.prompt);
    while (!dec.done()) dec.step();
    Trace t = dec.trace();
    Verdict v = verify(ex, t.outputText);
    t.verdict = verdictJson(v);
    if (keep) *keep = t;
    return {v, std::move(t)};
  };
  double cleanOk = 0, cleanProc = 0, undos = 0, steps = 0, finals = 0, recHard = 0, recSoft = 0,
         recN = 0, useless = 0, verifierUndos = 0, recResample = 0;
  int done = 0;
  for (std::size_t b = 0; b < examples.size(); ++b) {
    if (cancel && cancel->load()) break;
    const Example& ex = examples[b];
    auto [v, t] = run(clean[b], base, nullptr, ex);
    cleanOk += v.correct ? 1 : 0;
    cleanProc += v.process;
    int pops = 0;
    for (const auto& st : t.steps) {
      pops += st.kind == StepKind::kPop ? 1 : 0;
      verifierUndos += st.verifier ? 1 : 0;
    }
    undos += pops;
    const std::vector<std::int64_t> gold(clean[b].ids.begin() + clean[b].prompt,
                                         clean[b].ids.end());
    useless += tokenCredit(t, gold, 1.0, 1.0).uselessUndos;
    steps += static_cast<double>(t.steps.size());
    finals += static_cast<double>(t.steps.size()) - 2.0 * pops;
    ++done;
    if (s.recovery && completionLength[b] >= 1) {
      DecodeSettings forced = base;
      const int step = static_cast<int>(uniformInt(rng, 0, completionLength[b] - 1));
      forced.forced = {ForcedDeviation{step, kRandomDeviation}};
      forced.mode = TraceMode::kHard;
      auto [vh, th] = run(clean[b], forced, nullptr, ex);
      forced.mode = TraceMode::kSoft;
      auto [vs, ts] = run(clean[b], forced, nullptr, ex);
      recHard += vh.correct ? 1 : 0;
      recSoft += vs.correct ? 1 : 0;
      if (s.recoveryResample) {
        forced.mode = TraceMode::kResample;
        recResample += run(clean[b], forced, nullptr, ex).first.correct ? 1 : 0;
      }
      recN += 1;
      if (static_cast<int>(r.traces.size()) < s.keepTraces) r.traces.push_back(std::move(th));
    }
  }
  r.examples = done;
  r.cleanAccuracy = mean(cleanOk, done);
  r.cleanProcess = mean(cleanProc, done);
  r.undoPerSequence = mean(undos, done);
  r.tokenOverhead = finals > 0 ? steps / finals : kNaN;
  r.uselessUndoRate = mean(useless, undos);
  r.uselessUndoPerSequence = mean(useless, done);
  r.verifierUndoPerSequence = s.verifier.active() ? mean(verifierUndos, done) : kNaN;
  r.recoveryHard = mean(recHard, recN);
  r.recoverySoft = mean(recSoft, recN);
  r.recoveryResample = s.recoveryResample ? mean(recResample, recN) : kNaN;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace nmar::core
