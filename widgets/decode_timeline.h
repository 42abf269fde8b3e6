#pragma once
/**
 * @file The plain data model behind the generation stack panel: a trace (live or replayed) and
 * what the stack, the pruned lane and the depth strip hold after any number of its steps.
 * Torch-free; uses core's trace value types.
 */
#include <cstdint>
#include <limits>

#include <QHash>
#include <QList>
#include <QMetaType>
#include <QPair>
#include <QString>
#include <QStringList>

#include "trace/trace.h"

namespace nmar::widgets {

/** One token as a chip: a prompt token, a pushed token, or an UNDO. */
struct TokenChip {
  int step = -1;        ///< the trace step that pushed it (or the UNDO step); -1 for the prompt
  std::int64_t id = 0;  ///< token id
  QString text;         ///< display text ("⟲" for an UNDO)
  bool forced = false;  ///< a forced deviation (Inject error)
  bool undo = false;    ///< an UNDO chip
  double prob = std::numeric_limits<double>::quiet_NaN();     ///< exp(logprob), NaN if unknown
  double entropy = std::numeric_limits<double>::quiet_NaN();  ///< nats, NaN if unknown
  QList<QPair<QString, double>> topk;  ///< alternatives (text, probability), most likely first
  int poppedAt = -1;                   ///< for a popped token: the step of the UNDO that popped it

  /** Multi-line hover text: token, step, probability, top-k, entropy, forced. */
  QString tooltip() const;
};

/** A popped token together with the UNDO that popped it (one entry of the pruned lane). */
struct PrunedPair {
  TokenChip token;
  TokenChip undo;
};

/** What the panel shows after @c applied steps. */
struct StackSnapshot {
  int applied = 0;           ///< number of steps applied (0 = only the prompt)
  QList<TokenChip> prompt;   ///< the protected prompt
  QList<TokenChip> stack;    ///< live trace tokens, bottom first
  QList<PrunedPair> pruned;  ///< popped tokens with their UNDOs, in pop order
  QList<int> depths;         ///< depth after each applied step (size applied)
  /** The texts of stack (or pruned tokens) joined, for tests and status lines. */
  QStringList stackTexts() const;
  QStringList prunedTexts() const;
};

/**
 * A trace being watched: its header (prompt, mode, ids) and its steps, growing during a live
 * decode or complete for a replay. snapshot(k) replays the first k steps in O(k). Token texts for
 * top-k alternatives come from setVocabulary() or from the texts the steps carry; an unknown id
 * shows as "#id". Value type; GUI thread or any single thread.
 */
class DecodeTimeline {
 public:
  /** Forgets everything and starts from @p header (its steps are taken too). */
  void reset(const core::Trace& header);
  /** Appends steps (a live decode's coalesced batch). */
  void append(const QList<core::TraceStep>& steps);
  /** Texts for ids 0..n-1, e.g. a tokenizer's pieces. */
  void setVocabulary(const QStringList& texts);

  /** The trace so far (header + steps; output ids as in the last batch or the file). */
  const core::Trace& trace() const { return m_trace; }
  int stepCount() const { return static_cast<int>(m_trace.steps.size()); }
  bool isEmpty() const { return m_trace.promptIds.empty() && m_trace.steps.empty(); }

  /** Labels of the prompt tokens (one per prompt id). */
  const QStringList& promptLabels() const { return m_promptLabels; }
  /** Display text of token @p id ("⟲" for the UNDO id). */
  QString tokenText(std::int64_t id) const;
  /** The chip of step @p k as pushed (before any pop). */
  TokenChip stepChip(int k) const;

  /** The state after the first @p applied steps (clamped to [0, stepCount()]). */
  StackSnapshot snapshot(int applied) const;

 private:
  core::Trace m_trace;
  QStringList m_promptLabels;
  QStringList m_vocabulary;
  QHash<std::int64_t, QString> m_seenTexts;
  mutable QList<TokenChip> m_chips;  // stepChip() of each step, made once (replay frames reuse)
};

/**
 * Labels for the prompt ids of @p trace: the per-character split of prompt_text when it has one
 * character per id (character tokenizers), else the vocabulary text or "#id" for each id.
 */
QStringList promptLabelsFor(const core::Trace& trace, const QStringList& vocabulary);

/** Makes whitespace and control characters visible for chips and axis labels ("␣", "⏎"). */
QString visibleText(const QString& text);

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::core::TraceStep)
Q_DECLARE_METATYPE(nmar::core::Trace)
Q_DECLARE_METATYPE(nmar::widgets::TokenChip)
