#pragma once
/**
 * @file The deviation detector strip of the generation stack panel (issue 12): per-token scores,
 * tau adjustable live, the counts over tau, and the trigger settings of the next live decode.
 */
#include <QWidget>

#include "trace/trace.h"
#include "widgets/decode_options.h"
#include "widgets/detector_scores.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace nmar::widgets {

class DetectorCellsView;

/**
 * Shows the detector scores of the current trace (live or replayed) as a DetectorCellsView, with
 * tau as a slider and a spin box (0..1, step 0.01, kept in step with each other): moving either
 * re-marks the cells over tau at once and updates the read-out (tokens over tau, of which later
 * undone / survived, their ratio, and the UNDOs the verifier and the model caused). When the trace
 * has no verifier_score the cells, tau and read-out are hidden and a one-line explanation says how
 * to get scores. With a detector loaded (setDetector) the trigger choice of the next live decode
 * (force UNDO, raise the UNDO logit by a bias, scores only) is shown too; verifierOptions() is what
 * the decode gets. GUI thread only.
 */
class DetectorStrip : public QWidget {
  Q_OBJECT
 public:
  explicit DetectorStrip(QWidget* parent = nullptr);

  /** The whole trace (its cells are recomputed) and how many of its steps are applied now. */
  void setTrace(const core::Trace& trace, int applied);
  /** The replay or live position (steps applied). */
  void setApplied(int applied);
  /** The detector the decode worker holds (none: DetectorInfo{}); a newly loaded one (another
   * folder than before) sets tau to its default unless the trace shown has scores. */
  void setDetector(const DetectorInfo& detector);
  const DetectorInfo& detector() const { return m_detector; }

  /** tau, in [0, 1] (rounded to 0.01 by the controls). */
  double tau() const;
  void setTau(double tau);
  /** tau and the trigger choice, for the next live decode. */
  VerifierOptions verifierOptions() const;
  void setVerifierOptions(const VerifierOptions& options);

  /** True when the current trace carries detector scores (the cells are shown). */
  bool hasScores() const { return m_hasScores; }
  /** The read-out at the current tau. */
  DetectorCounts counts() const { return countDetectorCells(m_cells, tau()); }
  const QList<DetectorCell>& cells() const { return m_cells; }

  DetectorCellsView* cellsView() const { return m_view; }
  QSlider* tauSlider() const { return m_slider; }
  QDoubleSpinBox* tauBox() const { return m_tauBox; }
  QLabel* countsLabel() const { return m_counts; }
  QLabel* explanationLabel() const { return m_explain; }
  QComboBox* triggerBox() const { return m_trigger; }
  QDoubleSpinBox* biasBox() const { return m_bias; }

 Q_SIGNALS:
  void tauChanged(double tau);
  /** A cell was clicked: seek to @p applied steps. */
  void stepClicked(int applied);

 private:
  void onTauEdited(double tau);
  void refresh();

  DetectorCellsView* m_view = nullptr;
  QLabel* m_explain = nullptr;
  QWidget* m_tauRow = nullptr;
  QSlider* m_slider = nullptr;
  QDoubleSpinBox* m_tauBox = nullptr;
  QLabel* m_counts = nullptr;
  QWidget* m_triggerRow = nullptr;
  QLabel* m_detectorLabel = nullptr;
  QComboBox* m_trigger = nullptr;
  QDoubleSpinBox* m_bias = nullptr;

  QList<DetectorCell> m_cells;
  DetectorInfo m_detector;
  bool m_hasScores = false;
};

}  // namespace nmar::widgets
