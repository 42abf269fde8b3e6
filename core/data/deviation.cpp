#include "data/deviation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "data/random.h"
#include "model/eval_mode.h"
#include "model/kv_cache.h"
#include "util/error.h"

namespace nmar::core {

namespace {

/** Feeds @p ids into @p cache and returns the logits after the last one (`[V]`, CPU fp32). */
at::Tensor feed(Transformer& model, KVCache& cache, const std::vector<std::int64_t>& ids) {
  ForwardOptions fo;
  fo.cache = &cache;
  const at::Tensor input = at::tensor(ids, at::kLong).unsqueeze(0);
  const at::Tensor logits = model->forward(input, fo).logits;
  return logits.select(0, 0)
      .select(0, static_cast<std::int64_t>(ids.size()) - 1)
      .to(at::kCPU, at::kFloat)
      .contiguous();
}

}  // namespace

DeviationInjector::DeviationInjector(DeviationSettings s, std::int64_t undoId,
                                     std::int64_t vocabSize, Transformer model,
                                     const Tokenizer* tokenizer)
    : m_settings(std::move(s)),
      m_undoId(undoId),
      m_vocabSize(vocabSize),
      m_model(std::move(model)) {
  const std::string where = "deviation settings";
  m_settings.validate(where);
  if (vocabSize < 2)
    throw Error(where + ": a vocabulary of " + std::to_string(vocabSize) +
                " ids leaves nothing to draw deviations from");
  if (undoId < 0) throw Error(where + ": no UNDO id (got " + std::to_string(undoId) + ")");
  const bool needsModel =
      m_settings.kind == DeviationKind::kConfusable || m_settings.kind == DeviationKind::kSelf;
  if (needsModel && m_model.is_empty())
    throw Error(where + ": kind '" + deviationKindName(m_settings.kind) +
                "' draws from the model's predictions, but no model was given");
  if (!m_model.is_empty() && vocabSize > m_model->config().vocabSize)
    throw Error(where + ": vocabulary size " + std::to_string(vocabSize) +
                " is larger than the model's (" + std::to_string(m_model->config().vocabSize) +
                ")");
  m_excluded.assign(static_cast<std::size_t>(vocabSize), false);
  if (undoId < vocabSize) m_excluded[static_cast<std::size_t>(undoId)] = true;
  std::vector<std::int64_t> excludedIds = m_settings.excludedIds;
  if (tokenizer != nullptr)
    for (std::int64_t id : specialTokenIds(*tokenizer)) excludedIds.push_back(id);
  for (std::int64_t id : excludedIds)
    if (id < vocabSize) m_excluded[static_cast<std::size_t>(id)] = true;
  for (std::int64_t id = 0; id < vocabSize; ++id)
    if (!m_excluded[static_cast<std::size_t>(id)]) m_allowed.push_back(id);
  if (m_settings.kind != DeviationKind::kNone && m_allowed.size() < 2)
    throw Error(where +
                ": fewer than two token ids are left once UNDO and the excluded ids are "
                "removed (a deviation must differ from the gold token)");
}

bool DeviationInjector::excluded(std::int64_t id) const {
  return id < 0 || id >= m_vocabSize || m_excluded[static_cast<std::size_t>(id)];
}

std::int64_t DeviationInjector::drawRandom(std::mt19937_64& rng, std::int64_t gold) const {
  const auto n = static_cast<std::int64_t>(m_allowed.size());
  const auto it = std::lower_bound(m_allowed.begin(), m_allowed.end(), gold);
  if (it == m_allowed.end() || *it != gold) return m_allowed[uniformInt(rng, 0, n - 1)];
  // Skip the gold token's slot: uniform over the others.
  std::int64_t r = uniformInt(rng, 0, n - 2);
  if (r >= it - m_allowed.begin()) ++r;
  return m_allowed[static_cast<std::size_t>(r)];
}

std::int64_t DeviationInjector::drawFromLogits(const at::Tensor& logits, std::mt19937_64& rng,
                                               std::int64_t gold) const {
  const float* l = logits.data_ptr<float>();
  std::vector<std::int64_t> candidates;
  candidates.reserve(m_allowed.size());
  for (std::int64_t id : m_allowed)
    if (id != gold && std::isfinite(l[id])) candidates.push_back(id);
  if (candidates.empty()) return drawRandom(rng, gold);  // every logit non-finite: stay valid

  if (m_settings.kind == DeviationKind::kConfusable) {
    // The k most likely allowed ids (ties broken by the smaller id, for determinism).
    const std::size_t k = std::min(candidates.size(), static_cast<std::size_t>(m_settings.topK));
    std::partial_sort(
        candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(),
        [l](std::int64_t a, std::int64_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    return candidates[static_cast<std::size_t>(
        uniformInt(rng, 0, static_cast<std::int64_t>(k) - 1))];
  }
  // Self: sample from softmax(logits / T) over the candidates (gold and excluded ids removed).
  const double t = m_settings.temperature;
  double top = -std::numeric_limits<double>::infinity();
  for (std::int64_t id : candidates) top = std::max(top, static_cast<double>(l[id]) / t);
  std::vector<double> weights(candidates.size());
  double total = 0.0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    weights[i] = std::exp(static_cast<double>(l[candidates[i]]) / t - top);
    total += weights[i];
  }
  const double target = uniformReal(rng) * total;
  double acc = 0.0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    acc += weights[i];
    if (target < acc) return candidates[i];
  }
  return candidates.back();
}

TrainingSequence DeviationInjector::inject(const TrainingSequence& clean, std::mt19937_64& rng,
                                           int events, int maxLength) const {
  if (m_settings.kind == DeviationKind::kNone || events <= 0) return clean;
  const auto n = static_cast<std::int64_t>(clean.ids.size());
  const std::int64_t m = clean.promptLength;
  for (std::int64_t i = m; i < n; ++i)
    if (clean.ids[static_cast<std::size_t>(i)] == m_undoId)
      throw Error("deviation injection: the sequence already holds UNDO at position " +
                  std::to_string(i) + " (expected a clean sequence)");
  const bool usesModel = m_settings.kind != DeviationKind::kRandom;
  const std::int64_t first = std::max<std::int64_t>(m, usesModel ? 1 : 0);
  const std::int64_t points = n - first;
  if (points <= 0) return clean;

  // Distinct points: a partial Fisher-Yates shuffle of first..n-1, then in sequence order.
  const auto k = static_cast<std::int64_t>(std::min<std::int64_t>(events, points));
  std::vector<std::int64_t> all(static_cast<std::size_t>(points));
  for (std::int64_t i = 0; i < points; ++i) all[static_cast<std::size_t>(i)] = first + i;
  for (std::int64_t i = 0; i < k; ++i)
    std::swap(all[static_cast<std::size_t>(i)],
              all[static_cast<std::size_t>(uniformInt(rng, i, points - 1))]);
  std::vector<std::int64_t> chosen(all.begin(), all.begin() + k);
  std::sort(chosen.begin(), chosen.end());

  int hi = m_settings.maxLength;
  if (maxLength > 0) hi = std::min(hi, maxLength);
  const int lo = std::min(m_settings.minLength, hi);

  torch::NoGradGuard noGrad;
  Transformer model = usesModel ? m_model : Transformer(nullptr);
  const EvalMode evalMode(model);
  const std::unique_ptr<KVCache> cache =
      usesModel ? std::make_unique<KVCache>(model->config().numLayers) : nullptr;

  TrainingSequence out;
  out.promptLength = clean.promptLength;
  out.ids.reserve(clean.ids.size() + static_cast<std::size_t>(2 * k * hi));
  std::int64_t copied = 0;  // clean ids [0, copied) are in out.ids
  for (const std::int64_t j : chosen) {
    out.ids.insert(out.ids.end(), clean.ids.begin() + copied, clean.ids.begin() + j);
    const std::int64_t gold = clean.ids[static_cast<std::size_t>(j)];
    const int length = static_cast<int>(uniformInt(rng, lo, hi));
    std::vector<std::int64_t> deviation;
    if (!usesModel) {
      for (int t = 0; t < length; ++t) deviation.push_back(drawRandom(rng, gold));
    } else {
      // The cache holds the clean prefix [0, copied); extend it to j, then follow the deviation.
      at::Tensor logits = feed(
          model, *cache,
          std::vector<std::int64_t>(clean.ids.begin() + cache->length(), clean.ids.begin() + j));
      for (int t = 0; t < length; ++t) {
        deviation.push_back(drawFromLogits(logits, rng, gold));
        if (t + 1 < length) logits = feed(model, *cache, {deviation.back()});
      }
      cache->truncate(j);
    }
    out.ids.insert(out.ids.end(), deviation.begin(), deviation.end());
    out.ids.insert(out.ids.end(), static_cast<std::size_t>(length), m_undoId);
    out.deviationTokens += length;
    ++out.events;
    copied = j;
  }
  out.ids.insert(out.ids.end(), clean.ids.begin() + copied, clean.ids.end());
  out.events += clean.events;
  out.deviationTokens += clean.deviationTokens;
  return out;
}

TrainingSequence DeviationInjector::maybeInject(const TrainingSequence& clean, std::mt19937_64& rng,
                                                int events, int maxLength) const {
  if (m_settings.kind == DeviationKind::kNone) return clean;
  if (!bernoulli(rng, m_settings.fraction)) return clean;
  const int e = events > 0
                    ? events
                    : static_cast<int>(uniformInt(rng, m_settings.minEvents, m_settings.maxEvents));
  return inject(clean, rng, e, maxLength);
}

std::vector<TrainingSequence> DeviationInjector::injectBatch(
    const std::vector<TrainingSequence>& batch, std::mt19937_64& rng, int events,
    int maxLength) const {
  std::vector<TrainingSequence> out;
  out.reserve(batch.size());
  for (const TrainingSequence& s : batch) out.push_back(maybeInject(s, rng, events, maxLength));
  return out;
}

}  // namespace nmar::core
