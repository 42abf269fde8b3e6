#pragma once
/**
 * @file The training dashboard: live curves of the runs in a run store, several runs overlaid,
 * with smoothing, step or wall-time x axis and log scale.
 */
#include <cstdint>
#include <map>
#include <set>

#include <QString>
#include <QWidget>

#include "widgets/dashboard_charts.h"

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QSlider;

namespace nmar::viz {
class CurveView;
}

namespace nmar::widgets {

class StorePoller;

/** What the x axis shows. */
enum class XAxis { kStep, kWallMinutes };

/**
 * Shows the runs of a StorePoller as a checkable list and, for the checked runs, one chart per
 * metric (or group of metrics, see chartsForKeys()) chosen in the chart list. It tells the poller
 * which runs to watch and redraws when they grow, so a run another process is writing updates
 * live; a run that appears while running is checked automatically. Charts export to PNG, SVG or
 * PDF (context menu, exportChart()). GUI thread only; the poller must outlive the dashboard.
 */
class TrainingDashboard : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingDashboard(StorePoller* poller, QWidget* parent = nullptr);

  /** Checks exactly the runs in @p ids (unknown ids are ignored). */
  void setCheckedRuns(const std::set<std::int64_t>& ids);
  std::set<std::int64_t> checkedRuns() const;
  /** Shows or hides the chart titled @p title. */
  void setChartShown(const QString& title, bool shown);
  /** The titles of the charts offered (for the checked runs), in order, and those shown. */
  QStringList chartTitles() const;
  QStringList shownCharts() const;
  /** The chart titled @p title when shown, else null. */
  viz::CurveView* chart(const QString& title) const;

  void setXAxis(XAxis axis);
  XAxis xAxis() const { return m_xAxis; }
  /** EMA weight in [0, 0.99]. */
  void setSmoothing(double weight);
  void setLogY(bool on);

  /** Exports the chart titled @p title; false with a message naming the chart or the file. */
  bool exportChart(const QString& title, const QString& path, QString* error = nullptr);
  /** Redraws done so far (each redraw rebuilds the shown charts' curves). */
  int redrawCount() const { return m_redraws; }

 Q_SIGNALS:
  /** An export or a store read failed; @p message says which. */
  void problem(const QString& message);

 private:
  void onUpdated(bool runsChanged, const std::set<std::int64_t>& grown);
  void refreshRunList();
  void refreshChartList();
  void rebuildCharts();
  void redraw();
  void watchChecked();

  StorePoller* m_poller;
  QListWidget* m_runs = nullptr;
  QListWidget* m_chartList = nullptr;
  QLineEdit* m_chartFilter = nullptr;
  QComboBox* m_xAxisBox = nullptr;
  QSlider* m_smoothing = nullptr;
  QLabel* m_smoothingLabel = nullptr;
  QCheckBox* m_logY = nullptr;
  QLabel* m_status = nullptr;
  QGridLayout* m_grid = nullptr;
  std::vector<ChartSpec> m_specs;
  std::map<QString, viz::CurveView*> m_charts;  // shown charts by title
  std::map<QString, bool> m_chartChoice;        // the user's show/hide per title
  std::set<std::int64_t> m_knownRuns;
  bool m_listedOnce = false;
  bool m_updatingLists = false;
  XAxis m_xAxis = XAxis::kStep;
  int m_redraws = 0;
};

}  // namespace nmar::widgets
