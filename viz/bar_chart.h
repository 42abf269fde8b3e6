#pragma once
/** @file A titled bar chart of a few labelled values (e.g. one bar per strategy). */
#include <QStringList>
#include <QVector>
#include <QWidget>

class QCustomPlot;

namespace nmar::viz {

/**
 * One bar per label with its value printed above it; optional log scale (values <= 0 are left
 * out then). Exports to PNG, SVG or PDF. GUI thread only.
 */
class BarChart : public QWidget {
  Q_OBJECT
 public:
  explicit BarChart(QWidget* parent = nullptr);

  void setTitle(const QString& title);
  void setValueLabel(const QString& label);
  /** Replaces the bars; @p labels and @p values must have the same length (extra ones ignored). */
  void setBars(const QStringList& labels, const QVector<double>& values);
  void setLogY(bool on);
  const QVector<double>& values() const { return m_values; }
  const QStringList& labels() const { return m_labels; }

  bool exportTo(const QString& path, QString* error = nullptr, int width = 0, int height = 0);
  QCustomPlot* plot() const { return m_plot; }

 private:
  void redraw();

  QCustomPlot* m_plot = nullptr;
  QStringList m_labels;
  QVector<double> m_values;
  bool m_logY = false;
};

}  // namespace nmar::viz
