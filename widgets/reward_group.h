#pragma once
/**
 * @file A GRPO group as the per-token rewards panel shows it: each completion's steps with their
 * stored scores (reward = token credit, advantage, logprob, ratio) and the UNDO ↔ popped-token
 * links, read from a run store. Torch-free; the loaders run on any thread.
 */
#include <cstdint>
#include <optional>
#include <vector>

#include <QList>
#include <QString>

namespace nmar::widgets {

/** What the colours and bars of the panel show. */
enum class TokenMeasure { kReward, kAdvantage, kLogprob, kRatio };

/** "reward", "advantage", "logprob", "ratio". */
QString tokenMeasureName(TokenMeasure measure);

/** One step of a completion with its stored scores. */
struct ScoredToken {
  QString text;             ///< the step's token text (the UNDO token's own for a pop)
  bool undo = false;        ///< a pop step (the UNDO token)
  bool popped = false;      ///< a push that a later UNDO removed
  int link = -1;            ///< undo: the step it popped; popped push: the UNDO step that did it
  bool forced = false;      ///< a forced deviation
  std::optional<double> reward, advantage, logprob, ratio;
  /** The value of @p measure, if stored. */
  std::optional<double> value(TokenMeasure measure) const;
};

/** One completion of the group. */
struct ScoredCompletion {
  qint64 traceId = 0;
  QString output;
  QString verdict;          ///< "ok", "wrong", ... or empty
  std::optional<double> total;      ///< the trace's rewards.total
  std::optional<double> advantage;  ///< the trace's rewards.advantage
  QList<ScoredToken> tokens;
};

/** A group: one prompt's completions at one training step of one run. */
struct RewardGroup {
  QString storePath;
  qint64 runId = 0;
  qint64 step = 0;
  qint64 group = -1;
  QString prompt;
  QList<ScoredCompletion> completions;
  /** The largest |value| of @p measure over every token (0 when none): the colour scale's end. */
  double maxAbs(TokenMeasure measure) const;
};

/** A (step, group) of a run that has traces, with how many. */
struct GroupKey {
  qint64 step = 0;
  qint64 group = -1;
  int completions = 0;
};

/**
 * The (step, group) pairs of run @p runId with traces, by step then group (traces without a
 * group form group -1). Throws core::Error naming the store or the run.
 */
std::vector<GroupKey> listRewardGroups(const QString& storePath, qint64 runId);

/**
 * Reads the completions of (@p step, @p group) of run @p runId with their token scores, by trace
 * id. Tokens without stored scores have empty values. Throws core::Error naming the store, run
 * and trace (invalid trace JSON, a score at a position the trace does not have).
 */
RewardGroup loadRewardGroup(const QString& storePath, qint64 runId, qint64 step, qint64 group);

}  // namespace nmar::widgets
