#include "decode/forced_deviation.h"

#include <algorithm>
#include <set>

#include <ATen/ATen.h>

#include "decode/sampler.h"
#include "util/error.h"

namespace nmar::core {

void validateForcedDeviations(const std::vector<ForcedDeviation>& forced, int maxNewTokens,
                              std::int64_t vocabSize, std::int64_t undoId) {
  std::set<int> seen;
  for (std::size_t i = 0; i < forced.size(); ++i) {
    const ForcedDeviation& f = forced[i];
    const std::string at =
        "forced deviation " + std::to_string(i + 1) + " (step " + std::to_string(f.step) + "): ";
    if (f.step < 0 || f.step >= maxNewTokens)
      throw Error(at + "step outside [0, " + std::to_string(maxNewTokens) +
                  ") (max_new_tokens = " + std::to_string(maxNewTokens) + ")");
    if (!seen.insert(f.step).second) throw Error(at + "a second forced deviation at the same step");
    if (f.token == kRandomDeviation) continue;
    if (f.token < 0 || f.token >= vocabSize)
      throw Error(at + "token " + std::to_string(f.token) + " is outside the vocabulary [0, " +
                  std::to_string(vocabSize) + ")");
    if (undoId >= 0 && f.token == undoId)
      throw Error(at + "token " + std::to_string(f.token) +
                  " is the UNDO id (a forced deviation pushes a regular token)");
  }
}

std::vector<std::pair<std::int64_t, double>> deviationCandidates(
    const at::Tensor& logits, int k, const std::vector<std::int64_t>& excluded) {
  std::vector<std::pair<std::int64_t, double>> out;
  if (k <= 0) return out;
  const std::set<std::int64_t> skip(excluded.begin(), excluded.end());
  // The argmax plus k candidates plus every excluded id is always enough to fill the list.
  const int want = k + 1 + static_cast<int>(skip.size());
  const auto ranked = Sampler::topK(logits, want);
  for (std::size_t r = 1; r < ranked.size() && static_cast<int>(out.size()) < k; ++r)
    if (!skip.count(ranked[r].first)) out.push_back(ranked[r]);
  return out;
}

std::int64_t drawDeviation(const at::Tensor& logits, int k,
                           const std::vector<std::int64_t>& excluded, double u) {
  const auto candidates = deviationCandidates(logits, k, excluded);
  if (candidates.empty())
    throw Error("forced deviation: no wrong token to draw (top-" + std::to_string(k) +
                " after the argmax is empty once UNDO, EOS and banned ids are excluded)");
  double total = 0.0;
  for (const auto& c : candidates) total += c.second;
  if (!(total > 0.0)) {  // all candidates underflowed to 0: draw uniformly
    const auto i = std::min(candidates.size() - 1,
                            static_cast<std::size_t>(u * static_cast<double>(candidates.size())));
    return candidates[i].first;
  }
  double acc = 0.0;
  const double target = u * total;
  for (const auto& c : candidates) {
    acc += c.second;
    if (target < acc) return c.first;
  }
  return candidates.back().first;
}

double DeviationRng::uniform() {
  m_state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = m_state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace nmar::core
