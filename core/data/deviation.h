#pragma once
/**
 * @file Deviation injection (spec §1, §4): turning a clean training sequence into one where the
 * model writes wrong tokens and takes them back with UNDO, so that masked SFT can teach detection
 * and correction. Deviations are random tokens (the naive recipe), confusable tokens (the model's
 * own top-k without the gold token) or self-generated (sampled from the model, gold rejected).
 */
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sequence.h"
#include "model/transformer.h"

namespace nmar::core {

class Tokenizer;

/** Where deviation tokens come from. */
enum class DeviationKind {
  kNone,        ///< no deviations: every sequence stays clean
  kRandom,      ///< uniform over the vocabulary (minus excluded ids and the gold token)
  kConfusable,  ///< uniform over the model's k most likely tokens (minus excluded and gold)
  kSelf,        ///< sampled from softmax(logits / temperature), excluded ids and gold removed
};

/** "none", "random", "confusable", "self". */
std::string deviationKindName(DeviationKind kind);

/** Parses a kind name; Error "<where>: unknown deviation kind 'x' (expected ...)". */
DeviationKind parseDeviationKind(const std::string& name, const std::string& where);

/** Parameters of deviation injection. Value type. */
struct DeviationSettings {
  DeviationKind kind = DeviationKind::kRandom;
  double fraction = 0.5;             ///< fraction of examples that get deviations
  int minLength = 1, maxLength = 1;  ///< tokens per deviation (each followed by as many UNDOs)
  int minEvents = 1, maxEvents = 1;  ///< backtrack events per example
  int topK = 8;              ///< confusable: draw from the model's top-k minus the gold token
  double temperature = 1.0;  ///< self: sampling temperature, gold rejected
  /** Never drawn. UNDO is always excluded too, and so are the tokenizer's special tokens when the
   * injector is given the tokenizer (see specialTokenIds). */
  std::vector<std::int64_t> excludedIds;

  /**
   * Reads {"kind", "fraction" (0..1), "min_length", "max_length" (1..64) or "length" (both),
   * "min_events", "max_events" (1..64) or "events" (both), "top_k" (>= 1), "temperature" (> 0),
   * "excluded_ids": [int]}; absent fields keep their defaults. Throws Error
   * "<where>: field 'max_length': ..." for an unknown or ill-typed field or min > max.
   */
  static DeviationSettings fromJson(const nlohmann::json& j, const std::string& where);

  /** Every field under the names fromJson reads (the min/max forms). */
  nlohmann::json toJson() const;

  /** Checks the ranges fromJson checks; Error "<where>: field '...': ..." naming the field. */
  void validate(const std::string& where) const;
};

/**
 * The ids a deviation should never be: @p tok's special added tokens and its BOS, EOS, PAD and
 * UNK ids, sorted. Put them into DeviationSettings::excludedIds.
 */
std::vector<std::int64_t> specialTokenIds(const Tokenizer& tok);

/**
 * Injects deviations into clean sequences. Immutable after construction; inject() is const but
 * runs the model (confusable/self), so use an injector on the thread that owns its model. The
 * model is run in eval mode under a NoGradGuard and put back into the mode it was in.
 */
class DeviationInjector {
 public:
  /**
   * @p model may be null for kNone/kRandom; it is required for kConfusable/kSelf (Error
   * otherwise). Deviation ids are drawn from [0, @p vocabSize) (at most the model's vocabulary)
   * without @p undoId, the excluded ids and, when @p tokenizer is given (not kept), its special
   * tokens (BOS, EOS, PAD, UNK, added specials). Throws Error for invalid settings (see
   * DeviationSettings::validate), a missing model, a vocabulary larger than the model's, or fewer
   * than two ids left to draw from.
   */
  DeviationInjector(DeviationSettings s, std::int64_t undoId, std::int64_t vocabSize,
                    Transformer model = nullptr, const Tokenizer* tokenizer = nullptr);

  /**
   * Injects @p events deviations (fewer when the completion has fewer points) at distinct random
   * points j of the completion: promptLength <= j < ids.size() (so never inside the prompt and
   * never after a final EOS; j >= 1 for the model-based kinds, which need the logits at j - 1).
   * At each point it inserts L deviation tokens (L uniform in [minLength, maxLength], maxLength
   * capped by @p maxLength when > 0, minLength lowered to the cap if needed), then L UNDOs, then
   * the gold continues with ids[j]. Every deviation token differs from the gold token ids[j] and
   * from the excluded ids. Confusable and self-generated tokens condition on the clean prefix up to
   * j (what hard-mode attention sees there) and on the earlier tokens of the same deviation.
   * Returns @p clean unchanged for kNone, @p events <= 0 or an empty completion. The result has
   * the same prompt and satisfies analyzeSequence(result).output == the clean completion ids.
   * Throws Error when @p clean already holds an UNDO after the prompt (naming the position) or
   * when the model rejects the ids.
   */
  TrainingSequence inject(const TrainingSequence& clean, std::mt19937_64& rng, int events,
                          int maxLength = 0) const;

  /**
   * With probability `fraction` (one draw) injects into @p clean: @p events when > 0 (a
   * curriculum override), else uniform in [minEvents, maxEvents]; @p maxLength as in inject().
   * Returns @p clean otherwise (and always for kNone).
   */
  TrainingSequence maybeInject(const TrainingSequence& clean, std::mt19937_64& rng, int events = 0,
                               int maxLength = 0) const;

  /** maybeInject() for each sequence of @p batch in order, with the same generator. */
  std::vector<TrainingSequence> injectBatch(const std::vector<TrainingSequence>& batch,
                                            std::mt19937_64& rng, int events = 0,
                                            int maxLength = 0) const;

  /** The settings, as validated. */
  const DeviationSettings& settings() const { return m_settings; }
  /** The UNDO id inserted after each deviation. */
  std::int64_t undoId() const { return m_undoId; }

 private:
  std::int64_t drawRandom(std::mt19937_64& rng, std::int64_t gold) const;
  std::int64_t drawFromLogits(const at::Tensor& logits, std::mt19937_64& rng,
                              std::int64_t gold) const;
  bool excluded(std::int64_t id) const;

  DeviationSettings m_settings;
  std::int64_t m_undoId;
  std::int64_t m_vocabSize;
  Transformer m_model;
  std::vector<std::int64_t> m_allowed;  // sorted ids that may be drawn (gold aside)
  std::vector<bool> m_excluded;         // by id, size m_vocabSize
};

}  // namespace nmar::core
