#include "viz/curve_view.h"

#include <cmath>

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QMenu>
#include <QVBoxLayout>

#include "viz/plot_export.h"
#include "viz/qcp.h"

namespace nmar::viz {
namespace {

// Longer curves are drawn without antialiasing and with a 1 px pen. An antialiased noisy curve
// is a zigzag of long steep segments: at 1,000 points (an eval metric logged every 10 of 10,000
// steps) one replot took 230 ms of the GUI thread; at 250 points it stays a few ms
// (bench_dashboard prints both).
constexpr int kAntialiasedPoints = 250;

}  // namespace

QVector<double> smoothed(const QVector<double>& values, double weight) {
  if (weight <= 0.0) return values;
  weight = std::min(weight, 0.999);
  QVector<double> out(values.size(), std::nan(""));
  double last = 0.0;
  int seen = 0;
  for (int i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) continue;
    last = last * weight + (1.0 - weight) * v;
    ++seen;
    out[i] = last / (1.0 - std::pow(weight, seen));  // bias correction: no pull towards 0
  }
  return out;
}

CurveView::CurveView(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setObjectName(QStringLiteral("curvePlot"));
  m_plot->setMinimumSize(220, 160);
  m_plot->plotLayout()->insertRow(0);
  m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QString(), QFont()));
  m_plot->legend->setVisible(true);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.8);
  m_plot->legend->setFont(small);
  m_plot->legend->setBrush(QColor(255, 255, 255, 200));
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setPlottingHint(QCP::phFastPolylines, true);  // one polyline per graph, not segments
}

void CurveView::setTitle(const QString& title) {
  m_title = title;
  if (auto* t = qobject_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0))) {
    t->setText(title);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void CurveView::setXLabel(const QString& label) {
  m_plot->xAxis->setLabel(label);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void CurveView::setSeries(const QList<CurveSeries>& series) {
  m_series = series;
  redraw();
}

void CurveView::setSmoothing(double weight) {
  m_smoothing = std::clamp(weight, 0.0, 0.99);
  redraw();
}

void CurveView::setLogY(bool on) {
  m_logY = on;
  if (on) {
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  } else {
    m_plot->yAxis->setScaleType(QCPAxis::stLinear);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
  redraw();
}

int CurveView::pointCount(int index) const {
  // Each series is one graph (raw, or smoothed over a faint raw one: the last graph per series).
  int graph = -1;
  for (int i = 0, g = 0; i <= index && g < m_plot->graphCount(); ++i) {
    graph = g + (m_smoothing > 0.0 ? 1 : 0);
    g += m_smoothing > 0.0 ? 2 : 1;
  }
  if (index < 0 || index >= m_series.size() || graph < 0 || graph >= m_plot->graphCount())
    return -1;
  return m_plot->graph(graph)->data()->size();
}

void CurveView::redraw() {
  m_plot->clearGraphs();
  for (const CurveSeries& s : m_series) {
    QVector<double> x, y;
    x.reserve(s.x.size());
    y.reserve(s.y.size());
    for (int i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (m_logY && !(s.y[i] > 0.0)) continue;
      x.push_back(s.x[i]);
      y.push_back(s.y[i]);
    }
    if (m_smoothing > 0.0) {
      QCPGraph* raw = m_plot->addGraph();
      QColor faint = s.color;
      faint.setAlpha(60);
      raw->setPen(QPen(faint, 1));
      raw->setData(x, y, true);
      raw->setAntialiased(x.size() <= kAntialiasedPoints);
      raw->removeFromLegend();
      y = smoothed(y, m_smoothing);
    }
    QCPGraph* g = m_plot->addGraph();
    g->setName(s.name);
    g->setPen(QPen(s.color, x.size() <= kAntialiasedPoints ? 1.6 : 1.0));  // thin: fast path
    g->setData(x, y, true);
    // A long noisy curve is a dense zigzag: antialiasing it or stroking it wider than one pixel
    // costs the GUI thread tens to hundreds of milliseconds per replot (bench_dashboard).
    g->setAntialiased(x.size() <= kAntialiasedPoints);
    if (x.size() == 1) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
  }
  m_plot->rescaleAxes();
  // A constant series (a learning rate after warmup, one point) must not leave an axis with a
  // (near) zero-width range: give it a width around its value.
  for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
    const QCPRange r = axis->range();
    const double centre = r.center();
    if (r.size() <= 1e-9 * std::max(1.0, std::abs(centre))) {
      const double half = centre != 0.0 ? std::abs(centre) * 0.1 : 0.5;
      axis->setRange(centre - half, centre + half);
    }
  }
  if (m_logY) {
    // A range that touches 0 cannot be drawn in log scale.
    QCPRange r = m_plot->yAxis->range();
    if (r.lower <= 0) r.lower = r.upper > 0 ? r.upper * 1e-3 : 1e-6;
    if (r.upper <= r.lower) r.upper = r.lower * 10;
    m_plot->yAxis->setRange(r.lower / 1.5, r.upper * 1.5);
  } else {
    m_plot->yAxis->scaleRange(1.08);
  }
  m_plot->legend->setVisible(!m_series.isEmpty());
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool CurveView::exportTo(const QString& path, QString* error, int width, int height) {
  return exportPlot(m_plot, path, error, width, height);
}

void CurveView::contextMenuEvent(QContextMenuEvent* event) {
  QMenu menu(this);
  QAction* exportAction = menu.addAction(tr("Export chart…"));
  QAction* reset = menu.addAction(tr("Reset zoom"));
  QAction* chosen = menu.exec(event->globalPos());
  if (chosen == reset) {
    redraw();
  } else if (chosen == exportAction) {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export chart"), m_title.isEmpty() ? QStringLiteral("chart.png")
                                                    : QString(m_title).replace('/', '_') + ".png",
        tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
    QString message;
    if (!path.isEmpty() && !exportTo(path, &message)) Q_EMIT exportFailed(message);
  }
}

}  // namespace nmar::viz
