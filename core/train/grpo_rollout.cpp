#include "train/grpo_rollout.h"

#include "data/sequence.h"
#include "data/task.h"
#include "decode/group_decoder.h"
#include "tokenizer/tokenizer.h"

namespace nmar::core {

std::uint64_t mixSeed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<Rollout> sampleGroup(Transformer model, const Tokenizer& tokenizer,
                                 const Example& example, int group, const RolloutSettings& s,
                                 std::uint64_t seed) {
  const std::optional<std::int64_t> eos =
      s.decode.eosId >= 0 ? std::optional<std::int64_t>(s.decode.eosId) : std::nullopt;
  const TrainingSequence seq = encodeExample(tokenizer, example, eos);
  const std::vector<std::int64_t> prompt(seq.ids.begin(), seq.ids.begin() + seq.promptLength);
  const std::vector<std::int64_t> gold(seq.ids.begin() + seq.promptLength, seq.ids.end());
  std::vector<Rollout> out;
  out.reserve(static_cast<std::size_t>(s.numGenerations));
  std::vector<std::uint64_t> seeds;
  for (int g = 0; g < s.numGenerations; ++g)
    seeds.push_back(mixSeed(seed, static_cast<std::uint64_t>(g)));
  std::vector<Trace> traces;
  if (groupDecodable(s.decode)) {
    traces = decodeGroup(model, prompt, s.decode, seeds, &tokenizer, example.prompt);
  } else {  // resample mode: one sequence at a time
    for (std::uint64_t rowSeed : seeds) {
      DecodeSettings settings = s.decode;
      settings.sampler.seed = rowSeed;
      traces.push_back(
          decode(model, prompt, settings, nullptr, nullptr, &tokenizer, example.prompt));
    }
  }
  for (Trace& trace : traces) {
    Rollout r;
    r.group = group;
    r.example = example;
    r.gold = gold;
    r.trace = std::move(trace);
    const Verdict verdict = verifyExample(example, r.trace.outputText);
    r.trace.verdict = toJson(verdict);
    r.facts = completionFacts(r.trace, verdict);
    r.rewards = scoreCompletion(s.rewards, r.facts, s.undoBudget);
    r.credit = tokenCredit(r.trace, gold, s.creditAlpha, s.creditBeta);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nmar::core
