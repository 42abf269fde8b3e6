#pragma once
/** @file The attention panel: query × key maps with pruned keys hatched, hard vs soft. */
#include <memory>

#include <QFutureWatcher>
#include <QWidget>

#include "trace/trace.h"
#include "widgets/attention_map.h"

class QComboBox;
class QLabel;
class QPushButton;

namespace nmar::viz {
class HeatmapView;
}

namespace nmar::widgets {

/**
 * Shows the recorded attention of a trace for a chosen layer and head (or the head mean): one row
 * per step's query, one column per position, the keys a query could not see (popped before it)
 * hatched. The map of the whole trace is built off the GUI thread (QtConcurrent; the newest
 * request wins) and a replay step only crops the view to the queries and keys that exist then.
 * "Side by side" adds the same tokens under the other visibility (a forward pass the decode
 * worker runs, requested with comparisonRequested()). Zoom with the wheel, pan by dragging, "Fit"
 * resets. GUI thread only.
 */
class AttentionPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionPanel(QWidget* parent = nullptr);
  ~AttentionPanel() override;

  /**
   * Shows @p trace (shared, never modified) with axis labels; rebuilds the map asynchronously.
   * @p applied: the steps shown (see setApplied()). @p compare: ask for the side-by-side
   * comparison too (when that view is on); a live decode passes false until it ends.
   */
  void setTrace(std::shared_ptr<const core::Trace> trace, const QStringList& promptLabels,
                const QStringList& stepLabels, int applied, bool compare = true);
  /** Crops the view to the first @p applied queries and their keys (prompt + @p applied). */
  void setApplied(int applied);
  int applied() const { return m_applied; }
  /** Forgets the trace. */
  void clear();

  /** Layer and head (-1 = mean) shown. */
  AttentionSelection selection() const;
  void setSelection(AttentionSelection selection);
  /** Shows the comparison view beside the recorded one. */
  void setSideBySide(bool on);
  bool sideBySide() const;

  /** A comparison map arrived (for request @p requestId; older requests are ignored). */
  void setComparison(const AttentionMap& map, const QString& title, int requestId);

  /** True while a map is being built. */
  bool isBuilding() const;
  /** The map shown on the left (recorded) and on the right (comparison). */
  const AttentionMap& recordedMap() const { return m_recorded; }
  const AttentionMap& comparisonMap() const { return m_comparison; }
  viz::HeatmapView* recordedView() const { return m_left; }
  viz::HeatmapView* comparisonView() const { return m_right; }
  QLabel* readout() const { return m_readout; }

 Q_SIGNALS:
  /** A map was built and shown (tests wait for it). */
  void mapShown();
  /** The side-by-side view needs the comparison of the current trace for @p selection. */
  void comparisonRequested(const nmar::widgets::AttentionSelection& selection, int requestId);

 private:
  void rebuild();
  void onBuilt();
  void showMap(viz::HeatmapView* view, AttentionMap& map, const QStringList& rows,
               const QStringList& cols);
  void fillSelectors(int layers, int heads);
  void requestComparison();
  void updateReadout(viz::HeatmapView* view, int row, int col);

  QComboBox* m_layer = nullptr;
  QComboBox* m_head = nullptr;
  QPushButton* m_sideBySide = nullptr;
  QPushButton* m_fit = nullptr;
  QLabel* m_title = nullptr;
  QLabel* m_rightTitle = nullptr;
  QLabel* m_readout = nullptr;
  viz::HeatmapView* m_left = nullptr;
  viz::HeatmapView* m_right = nullptr;
  QWidget* m_rightBox = nullptr;

  std::shared_ptr<const core::Trace> m_trace;
  QStringList m_promptLabels;
  QStringList m_stepLabels;
  int m_applied = 0;
  AttentionMap m_recorded;
  AttentionMap m_comparison;
  QFutureWatcher<AttentionMap>* m_watcher = nullptr;
  bool m_dirty = false;  // a rebuild was asked for while one was running
  int m_requestId = 0;
  bool m_filling = false;
};

}  // namespace nmar::widgets
