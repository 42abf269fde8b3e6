#include "experiments/compute_matched.h"

#include <torch/torch.h>

#include <cmath>

#include "data/example_source.h"
#include "data/sequence.h"
#include "data/task.h"
#include "decode/pruned_decoder.h"
#include "experiments/post_eval_model.h"
#include "model/pretrained.h"
#include "util/error.h"

namespace nmar::core {

std::map<std::string, double> ComputeMatchedResult::metrics() const {
  std::map<std::string, double> m;
  for (const ComputeMatchedPoint& p : points) {
    if (p.method == "pruned") {
      m["post/cm_pruned_acc"] = p.accuracy;
      m["post/cm_pruned_tokens"] = p.tokensPerAnswer;
    } else if (p.method == "plain") {
      m["post/cm_plain_acc"] = p.accuracy;
      m["post/cm_plain1_tokens"] = p.tokensPerAnswer;
    } else if (p.method == "best-of-N") {
      m["post/cm_bestof" + std::to_string(p.samples) + "_acc"] = p.accuracy;
      m["post/cm_plain" + std::to_string(p.samples) + "_tokens"] = p.tokensPerAnswer;
    } else {
      m["post/cm_majority" + std::to_string(p.samples) + "_acc"] = p.accuracy;
    }
  }
  m["post/cm_matched_n"] = matchedSamples;
  m["post/cm_matched_bestof_acc"] = matchedBestOf;
  m["post/cm_matched_majority_acc"] = matchedMajority;
  return m;
}

ComputeMatchedResult evaluateComputeMatched(const ExperimentConfig& config,
                                            const std::filesystem::path& checkpoint,
                                            const ComputeMatchedSettings& settings) {
  if (settings.maxSamples < 1 || !(settings.temperature > 0.0))
    throw Error("compute_matched: expected samples >= 1 and a temperature > 0");
  PostEvalModel loaded = loadPostEvalModel(config, checkpoint);
  Pretrained& p = loaded.pretrained;
  const std::optional<std::int64_t>& eos = loaded.eosId;
  ExampleSource* source = loaded.heldOut.get();
  torch::NoGradGuard noGrad;
  std::vector<int> ns;
  for (int n = 1; n <= settings.maxSamples; n *= 2) ns.push_back(n);
  const int total = ns.back();
  double prunedOk = 0, prunedTokens = 0;
  std::vector<double> plainTokens(total + 1, 0.0), bestOk(ns.size(), 0.0),
      majorityOk(ns.size(), 0.0);
  ComputeMatchedResult r;
  for (int i = 0; i < config.eval.examples; ++i) {
    const Example ex = source->next();
    const TrainingSequence seq = encodeExample(*p.tokenizer, ex, eos);
    const std::vector<std::int64_t> prompt(seq.ids.begin(), seq.ids.begin() + seq.promptLength);
    const int completion = static_cast<int>(seq.ids.size()) - seq.promptLength;
    DecodeSettings s;
    s.mode = TraceMode::kHard;
    s.undoId = loaded.undoId;
    s.eosId = eos ? *eos : -1;
    s.sampler.temperature = settings.temperature;
    s.sampler.maxNewTokens = 2 * completion + 8;
    auto decode = [&](const DecodeSettings& d) {
      PrunedDecoder dec(p.model, d, p.tokenizer.get());
      dec.start(prompt, ex.prompt);
      while (!dec.done()) dec.step();
      return dec.trace();
    };
    const std::uint64_t seed = config.eval.seed * 1000003ULL + static_cast<std::uint64_t>(i) * 64;
    s.sampler.seed = seed;
    const Trace pruned = decode(s);
    prunedOk += verifyExample(ex, pruned.outputText).correct ? 1 : 0;
    prunedTokens += static_cast<double>(pruned.steps.size());
    // Plain sampling: UNDO masked (budget 0), other seeds.
    s.sampler.undoBudget = 0;
    std::vector<std::string> outputs;
    std::vector<double> logprobs;
    std::vector<bool> correct;
    for (int k = 0; k < total; ++k) {
      s.sampler.seed = seed + 1 + static_cast<std::uint64_t>(k);
      const Trace t = decode(s);
      double lp = 0.0;
      for (const TraceStep& st : t.steps) lp += st.logprob.value_or(0.0);
      outputs.push_back(t.outputText);
      logprobs.push_back(lp);
      correct.push_back(verifyExample(ex, t.outputText).correct);
      plainTokens[k + 1] = plainTokens[k + 1] + static_cast<double>(t.steps.size());
    }
    for (std::size_t j = 0; j < ns.size(); ++j) {
      const int n = ns[j];
      int best = 0;
      for (int k = 1; k < n; ++k)
        if (logprobs[k] > logprobs[best]) best = k;
      bestOk[j] += correct[best] ? 1 : 0;
      // Majority: the most frequent output text, ties to the earliest sample.
      int vote = 0, votes = 0;
      for (int k = 0; k < n; ++k) {
        int c = 0;
        for (int q = 0; q < n; ++q) c += outputs[q] == outputs[k] ? 1 : 0;
        if (c > votes) vote = k, votes = c;
      }
      majorityOk[j] += correct[vote] ? 1 : 0;
    }
    ++r.examples;
  }
  const double n = r.examples > 0 ? r.examples : std::nan("");
  // plainTokens[k]: tokens of sample k summed over examples; N samples cost the first N.
  std::vector<double> cumulative(total + 1, 0.0);
  for (int k = 1; k <= total; ++k) cumulative[k] = cumulative[k - 1] + plainTokens[k];
  r.points.push_back({"pruned", 1, prunedOk / n, prunedTokens / n});
  r.points.push_back({"plain", 1, bestOk[0] / n, cumulative[1] / n});
  for (std::size_t j = 1; j < ns.size(); ++j) {
    r.points.push_back({"best-of-N", ns[j], bestOk[j] / n, cumulative[ns[j]] / n});
    r.points.push_back({"majority-N", ns[j], majorityOk[j] / n, cumulative[ns[j]] / n});
  }
  // The smallest N whose tokens reach pruned decoding's (the largest N when none does).
  std::size_t matched = ns.size() - 1;
  for (std::size_t j = 0; j < ns.size(); ++j)
    if (cumulative[ns[j]] >= prunedTokens) {
      matched = j;
      break;
    }
  r.matchedSamples = ns[matched];
  r.matchedBestOf = bestOk[matched] / n;
  r.matchedMajority = majorityOk[matched] / n;
  return r;
}

}  // namespace nmar::core
