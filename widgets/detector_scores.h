#pragma once
/**
 * @file The deviation detector's per-token scores of a trace (issue 12) as plain data for the
 * detector strip: one cell per step, what happened to each scored token (undone or survived), and
 * the counts over a threshold tau. Torch-free; uses core's trace value types.
 */
#include <limits>
#include <optional>

#include <QColor>
#include <QList>
#include <QString>

#include "trace/trace.h"

namespace nmar::widgets {

/** One step of a trace as the detector strip shows it. */
struct DetectorCell {
  int step = -1;     ///< the trace step
  bool pop = false;  ///< an UNDO step
  QString text;      ///< the pushed token's visible text; "⟲" for an UNDO
  double score = std::numeric_limits<double>::quiet_NaN();  ///< push: P(deviation); NaN: none
  bool verifierPop = false;  ///< pop: the verifier trigger caused it (not the model alone)
  int undoneAt = -1;         ///< push: the step of the UNDO that popped it; -1: it survived

  bool hasScore() const { return score == score; }  // not NaN
  bool undone() const { return undoneAt >= 0; }
  /** score > @p tau (strictly, as the decoder's trigger); false without a score. */
  bool overTau(double tau) const { return hasScore() && score > tau; }
  /** Multi-line hover text: step, token, score and whether it is over @p tau, its fate. */
  QString tooltip(double tau) const;
};

/** What the strip's read-out says for one tau. */
struct DetectorCounts {
  int scored = 0;        ///< pushes with a score
  int over = 0;          ///< of those, score > tau
  int overUndone = 0;    ///< over tau and later undone (by the model or the verifier)
  int overSurvived = 0;  ///< over tau and still on the stack at the end of the trace
  int verifierPops = 0;  ///< UNDOs the verifier caused
  int modelPops = 0;     ///< UNDOs the model drew itself
  /** overUndone / over; nullopt when nothing is over tau. */
  std::optional<double> precision() const;
};

/** True when at least one push step of @p trace carries a verifier_score. */
bool traceHasVerifierScores(const core::Trace& trace);

/**
 * The cells of every step of @p trace, with the fate of each pushed token replayed through the
 * stack machine (spec §1) over the whole trace. A pop with nothing to pop is left unmatched.
 */
QList<DetectorCell> detectorCells(const core::Trace& trace);

/** The counts of @p cells at @p tau. */
DetectorCounts countDetectorCells(const QList<DetectorCell>& cells, double tau);

/** The tau the decode of @p trace used (meta.verifier.tau), if it recorded one. */
std::optional<double> traceVerifierTau(const core::Trace& trace);

/**
 * The colour of a score on the sequential scale (viridis: 0 dark purple #440154, 0.5 teal
 * #21918c, 1 yellow #fde725), clamped to [0, 1]; light grey for NaN.
 */
QColor detectorColour(double score);

}  // namespace nmar::widgets
