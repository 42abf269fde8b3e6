#include "experiments/suite_post_eval.h"

#include <torch/torch.h>

#include <cmath>

#include "data/example_source.h"
#include "data/sequence.h"
#include "data/task.h"
#include "decode/pruned_decoder.h"
#include "experiments/post_eval_model.h"
#include "model/pretrained.h"
#include "model/undo_token.h"
#include "train/token_credit.h"
#include "util/error.h"

namespace nmar::core {

PostEvalModel loadPostEvalModel(const ExperimentConfig& config,
                                const std::filesystem::path& checkpoint) {
  PostEvalModel m;
  m.pretrained = loadPretrained(checkpoint);
  if (!m.pretrained.tokenizer)
    throw Error(checkpoint.string() + ": the checkpoint has no tokenizer files");
  const std::optional<std::int32_t> undo = undoTokenId(m.pretrained);
  if (!undo) throw Error(checkpoint.string() + ": the model has no UNDO token");
  m.undoId = *undo;
  m.eosId = m.pretrained.tokenizer->eosId();
  const nlohmann::json& evalCfg = config.evalData.empty() ? config.data : config.evalData;
  m.heldOut = makeExampleSource(evalCfg, config.eval.seed, config.source.parent_path(),
                                config.source.string() + ": [eval_data]");
  m.pretrained.model->eval();
  return m;
}

MultiRecoveryResult evaluateMultiRecovery(const ExperimentConfig& config,
                                          const std::filesystem::path& checkpoint, int events) {
  PostEvalModel loaded = loadPostEvalModel(config, checkpoint);
  Pretrained& p = loaded.pretrained;
  const std::optional<std::int64_t>& eos = loaded.eosId;
  ExampleSource* source = loaded.heldOut.get();
  torch::NoGradGuard noGrad;
  MultiRecoveryResult r;
  double ok = 0, okClean = 0, forced = 0, pops = 0;
  for (int i = 0; i < config.eval.examples; ++i) {
    const Example ex = source->next();
    const TrainingSequence seq = encodeExample(*p.tokenizer, ex, eos);
    const std::vector<std::int64_t> prompt(seq.ids.begin(), seq.ids.begin() + seq.promptLength);
    const int completion = static_cast<int>(seq.ids.size()) - seq.promptLength - (eos ? 1 : 0);
    DecodeSettings s;
    s.mode = TraceMode::kHard;
    s.undoId = loaded.undoId;
    s.eosId = eos ? *eos : -1;
    s.sampler.temperature = 0.0;
    s.sampler.seed = config.eval.seed + i;
    s.deviationTopK = 5;
    s.sampler.maxNewTokens = 2 * completion + 8 + 3 * events;
    auto decode = [&](const DecodeSettings& settings) {
      PrunedDecoder dec(p.model, settings, p.tokenizer.get());
      dec.start(prompt, ex.prompt);
      while (!dec.done()) dec.step();
      return dec.trace();
    };
    okClean += verifyExample(ex, decode(s).outputText).correct ? 1 : 0;
    for (int e = 0; e < std::min(events, completion); ++e)
      s.forced.push_back(ForcedDeviation{3 * e, kRandomDeviation});
    const Trace t = decode(s);
    ok += verifyExample(ex, t.outputText).correct ? 1 : 0;
    for (const TraceStep& st : t.steps) {
      forced += st.forced ? 1 : 0;
      pops += st.kind == StepKind::kPop ? 1 : 0;
    }
    ++r.examples;
  }
  const double n = r.examples > 0 ? r.examples : std::nan("");
  r.accuracy = ok / n;
  r.cleanAccuracy = okClean / n;
  r.forcedPerSeq = forced / n;
  r.undoPerSeq = pops / n;
  return r;
}

NaturalErrorResult evaluateNaturalErrors(const ExperimentConfig& config,
                                         const std::filesystem::path& checkpoint, int samples,
                                         double temperature) {
  if (samples < 1) throw Error("natural errors: samples must be >= 1");
  if (!(temperature > 0.0)) throw Error("natural errors: the temperature must be > 0");
  PostEvalModel loaded = loadPostEvalModel(config, checkpoint);
  Pretrained& p = loaded.pretrained;
  const std::optional<std::int64_t>& eos = loaded.eosId;
  torch::NoGradGuard noGrad;
  NaturalErrorResult r;
  double ok = 0, undoNext = 0, undoLater = 0, recovered = 0, pops = 0, uselessPops = 0;
  for (int i = 0; i < config.eval.examples; ++i) {
    const Example ex = loaded.heldOut->next();
    const TrainingSequence seq = encodeExample(*p.tokenizer, ex, eos);
    const std::vector<std::int64_t> prompt(seq.ids.begin(), seq.ids.begin() + seq.promptLength);
    const std::vector<std::int64_t> gold(seq.ids.begin() + seq.promptLength, seq.ids.end());
    DecodeSettings s;
    s.mode = TraceMode::kHard;
    s.undoId = loaded.undoId;
    s.eosId = eos ? *eos : -1;
    s.sampler.temperature = temperature;
    s.sampler.maxNewTokens = 2 * static_cast<int>(gold.size()) + 8;
    for (int k = 0; k < samples; ++k) {
      s.sampler.seed = config.eval.seed + static_cast<std::uint64_t>(i) * 1000003u + k;
      PrunedDecoder dec(p.model, s, p.tokenizer.get());
      dec.start(prompt, ex.prompt);
      while (!dec.done()) dec.step();
      const Trace t = dec.trace();
      const NaturalErrors e = naturalErrors(t, gold);
      r.errors += e.errors;
      undoNext += e.undoneNext;
      undoLater += e.undoneLater;
      pops += e.pops;
      uselessPops += e.uselessPops;
      const bool correct = verifyExample(ex, t.outputText).correct;
      ok += correct ? 1 : 0;
      if (e.errors > 0) {
        ++r.samplesWithError;
        recovered += correct ? 1 : 0;
      }
      ++r.samples;
    }
  }
  const double n = r.samples > 0 ? r.samples : std::nan("");
  const double errors = r.errors > 0 ? r.errors : std::nan("");
  r.accuracy = ok / n;
  r.errorsPerSeq = r.errors / n;
  r.undoNext = undoNext / errors;
  r.undoLater = undoLater / errors;
  r.recovery = r.samplesWithError > 0 ? recovered / r.samplesWithError : std::nan("");
  r.falseUndo = pops > 0 ? uselessPops / pops : std::nan("");
  return r;
}

}  // namespace nmar::core
