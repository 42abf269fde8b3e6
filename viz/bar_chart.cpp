#include "viz/bar_chart.h"

#include <cmath>

#include <QVBoxLayout>

#include "viz/plot_export.h"
#include "viz/qcp.h"

namespace nmar::viz {

BarChart::BarChart(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setMinimumSize(200, 150);
  m_plot->plotLayout()->insertRow(0);
  m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QString(), QFont()));
}

void BarChart::setTitle(const QString& title) {
  if (auto* t = qobject_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0))) t->setText(title);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void BarChart::setValueLabel(const QString& label) {
  m_plot->yAxis->setLabel(label);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void BarChart::setBars(const QStringList& labels, const QVector<double>& values) {
  const int n = std::min(int(labels.size()), int(values.size()));
  m_labels = labels.mid(0, n);
  m_values = values.mid(0, n);
  redraw();
}

void BarChart::setLogY(bool on) {
  m_logY = on;
  redraw();
}

void BarChart::redraw() {
  m_plot->clearPlottables();
  m_plot->clearItems();
  auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  bars->setBrush(QColor(5, 113, 176, 170));
  bars->setPen(QPen(QColor(5, 113, 176)));
  bars->setWidth(0.6);
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  QVector<double> keys, values;
  double lo = 0, hi = 0;
  bool first = true;
  for (int i = 0; i < m_values.size(); ++i) {
    ticker->addTick(i + 1, m_labels[i]);
    const double v = m_values[i];
    if (!std::isfinite(v) || (m_logY && v <= 0)) continue;
    keys << i + 1;
    values << v;
    lo = first ? v : std::min(lo, v);
    hi = first ? v : std::max(hi, v);
    first = false;
    auto* text = new QCPItemText(m_plot);
    text->position->setCoords(i + 1, v);
    text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    text->setText(QString::number(v, 'g', 3));
    text->setPadding(QMargins(0, 0, 0, 2));
  }
  bars->setData(keys, values, true);
  m_plot->xAxis->setTicker(ticker);
  m_plot->xAxis->setRange(0.4, m_values.size() + 0.6);
  if (m_logY) {
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    bars->setBaseValue(first ? 1e-12 : lo / 10);
    m_plot->yAxis->setRange(first ? 1e-12 : lo / 10, first ? 1 : hi * 10);
  } else {
    m_plot->yAxis->setScaleType(QCPAxis::stLinear);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    bars->setBaseValue(0);
    m_plot->yAxis->setRange(std::min(0.0, lo * 1.2), hi > 0 ? hi * 1.2 : 1.0);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool BarChart::exportTo(const QString& path, QString* error, int width, int height) {
  return exportPlot(m_plot, path, error, width, height);
}

}  // namespace nmar::viz
