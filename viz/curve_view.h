#pragma once
/** @file Line charts of several series (training curves of several runs) with smoothing and log y. */
#include <QColor>
#include <QList>
#include <QString>
#include <QVector>
#include <QWidget>

class QCustomPlot;

namespace nmar::viz {

/** One curve: x and y of equal length (x increasing), a legend name and a colour. */
struct CurveSeries {
  QString name;
  QVector<double> x;
  QVector<double> y;  ///< NaN: a gap
  QColor color;
};

/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing slider): @p weight
 * in [0, 1) (0 returns @p values unchanged); NaN values are skipped and stay NaN.
 */
QVector<double> smoothed(const QVector<double>& values, double weight);

/**
 * A titled chart of CurveSeries with a legend. Smoothing draws the smoothed curve over a faint
 * raw one; log scale drops values <= 0 (they cannot be drawn). setSeries() keeps the user's zoom
 * only when asked; otherwise the axes rescale to the data. Exports to PNG, SVG or PDF.
 * GUI thread only.
 */
class CurveView : public QWidget {
  Q_OBJECT
 public:
  explicit CurveView(QWidget* parent = nullptr);

  void setTitle(const QString& title);
  QString title() const { return m_title; }
  void setXLabel(const QString& label);
  /** Replaces the curves and redraws. */
  void setSeries(const QList<CurveSeries>& series);
  const QList<CurveSeries>& series() const { return m_series; }
  /** EMA weight in [0, 1) (clamped); redraws. */
  void setSmoothing(double weight);
  double smoothing() const { return m_smoothing; }
  /** Logarithmic y axis; redraws. */
  void setLogY(bool on);
  bool logY() const { return m_logY; }
  /** Points drawn for series @p index (after the log-scale filter), -1 when out of range. */
  int pointCount(int index) const;

  /** Writes the chart to @p path (.png, .svg or .pdf); false with a message naming the path. */
  bool exportTo(const QString& path, QString* error = nullptr, int width = 0, int height = 0);
  QCustomPlot* plot() const { return m_plot; }

 Q_SIGNALS:
  /** An export from the context menu failed; @p message names the file and why. */
  void exportFailed(const QString& message);

 protected:
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  void redraw();

  QCustomPlot* m_plot = nullptr;
  QString m_title;
  QList<CurveSeries> m_series;
  double m_smoothing = 0.0;
  bool m_logY = false;
};

}  // namespace nmar::viz
