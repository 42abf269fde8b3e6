#include "widgets/detector_cells_view.h"

#include <algorithm>

#include <QHelpEvent>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace nmar::widgets {
namespace {

constexpr qreal kTitle = 56;    // room for "detector" on the left, as the stack lanes' titles
constexpr qreal kLegend = 96;   // the colour legend on the right
constexpr qreal kMark = 7;      // the ▼ above a cell over tau
constexpr qreal kMaxCell = 24;  // cells never grow wider than this
const QColor kOverTau(214, 39, 40);
const QColor kVerifierPop(194, 24, 91);
const QColor kModelPop(200, 200, 200);

}  // namespace

DetectorCellsView::DetectorCellsView(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("detectorCells"));
  setMouseTracking(true);
  setMinimumHeight(40);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void DetectorCellsView::setCells(const QList<DetectorCell>& cells, int applied) {
  m_cells = cells;
  m_applied = std::clamp(applied, 0, int(cells.size()));
  update();
}

void DetectorCellsView::setApplied(int applied) {
  m_applied = std::clamp(applied, 0, int(m_cells.size()));
  update();
}

void DetectorCellsView::setTau(double tau) {
  m_tau = tau;
  update();
}

QRectF DetectorCellsView::cellArea() const {
  return QRectF(kTitle, 2 + kMark, std::max<qreal>(width() - kTitle - kLegend - 8, 10),
                height() - 4 - kMark);
}

QRectF DetectorCellsView::legendArea() const {
  return QRectF(width() - kLegend, 4, kLegend - 6, height() - 8);
}

QRectF DetectorCellsView::cellRect(int index) const {
  if (index < 0 || index >= m_cells.size()) return {};
  const QRectF area = cellArea();
  const qreal w = std::min(kMaxCell, area.width() / m_cells.size());
  return QRectF(area.left() + index * w, area.top(), w, area.height());
}

int DetectorCellsView::cellAt(const QPointF& pos) const {
  for (int i = 0; i < m_cells.size(); ++i)
    if (cellRect(i).contains(pos)) return i;
  return -1;
}

QColor DetectorCellsView::cellColour(int index) const {
  if (index < 0 || index >= m_cells.size()) return {};
  const DetectorCell& c = m_cells.at(index);
  if (c.pop) return c.verifierPop ? kVerifierPop : kModelPop;
  return detectorColour(c.score);
}

void DetectorCellsView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), palette().base());
  p.setPen(palette().color(QPalette::PlaceholderText));
  p.drawText(QRectF(4, 0, kTitle - 6, height()), Qt::AlignLeft | Qt::AlignVCenter, tr("detector"));
  QFont small = font();
  small.setPointSizeF(std::max<qreal>(small.pointSizeF() * 0.8, 6));
  p.setFont(small);
  for (int i = 0; i < m_cells.size(); ++i) {
    const DetectorCell& c = m_cells.at(i);
    const QRectF r = cellRect(i).adjusted(0.5, 0.5, -0.5, -0.5);
    const bool future = i >= m_applied;
    QColor fill = cellColour(i);
    if (future) fill.setAlpha(60);
    if (c.pop) {
      // An UNDO: a slimmer bar so the pushes stand out; the verifier's in magenta with "V".
      const QRectF bar = r.adjusted(r.width() * 0.2, r.height() * 0.25, -r.width() * 0.2, 0);
      p.fillRect(bar, fill);
      if (r.width() >= 9) {
        p.setPen(c.verifierPop ? Qt::white : Qt::black);
        p.drawText(bar, Qt::AlignCenter, c.verifierPop ? QStringLiteral("V") : c.text);
      }
      continue;
    }
    p.fillRect(r, fill);
    if (r.width() >= 11) {
      QFont f = small;
      f.setStrikeOut(c.undone());
      p.setFont(f);
      p.setPen(c.hasScore() && c.score < 0.6 ? Qt::white : Qt::black);
      p.drawText(r, Qt::AlignCenter, c.text);
      p.setFont(small);
    }
    if (c.overTau(m_tau)) {
      QColor frame = kOverTau;
      if (future) frame.setAlpha(90);
      p.setPen(QPen(frame, 2));
      p.setBrush(Qt::NoBrush);
      p.drawRect(r.adjusted(1, 1, -1, -1));
      QPolygonF mark;
      const qreal cx = r.center().x();
      mark << QPointF(cx - 3.5, r.top() - kMark + 1) << QPointF(cx + 3.5, r.top() - kMark + 1)
           << QPointF(cx, r.top() - 1);
      p.setPen(Qt::NoPen);
      p.setBrush(frame);
      p.drawPolygon(mark);
    }
  }
  if (m_applied > 0 && !m_cells.isEmpty()) {
    const qreal x = cellRect(m_applied - 1).right();
    p.setPen(QPen(QColor(200, 30, 30), 1.5));
    p.drawLine(QPointF(x, cellArea().top()), QPointF(x, cellArea().bottom()));
  }
  paintLegend(p);
}

void DetectorCellsView::paintLegend(QPainter& p) const {
  const QRectF area = legendArea();
  const QRectF bar(area.left() + 8, area.top() + 2, area.width() - 16, area.height() * 0.45);
  QLinearGradient g(bar.topLeft(), bar.topRight());
  for (int i = 0; i <= 8; ++i) g.setColorAt(i / 8.0, detectorColour(i / 8.0));
  p.fillRect(bar, g);
  const qreal x = bar.left() + bar.width() * std::clamp(m_tau, 0.0, 1.0);
  p.setPen(QPen(kOverTau, 2));
  p.drawLine(QPointF(x, bar.top() - 2), QPointF(x, bar.bottom() + 2));
  p.setPen(palette().color(QPalette::Text));
  const QRectF labels(area.left(), bar.bottom() + 1, area.width(), area.bottom() - bar.bottom());
  p.drawText(labels, Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("0"));
  p.drawText(labels, Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("1"));
  p.setPen(kOverTau);
  p.drawText(QRectF(x - 10, labels.top(), 20, labels.height()), Qt::AlignCenter,
             QStringLiteral("τ"));
}

void DetectorCellsView::mousePressEvent(QMouseEvent* event) {
  const int i = cellAt(event->position());
  if (i >= 0) Q_EMIT stepClicked(i + 1);
}

bool DetectorCellsView::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    const int i = cellAt(help->pos());
    if (i >= 0)
      QToolTip::showText(help->globalPos(), m_cells.at(i).tooltip(m_tau), this);
    else if (legendArea().contains(help->pos()))
      QToolTip::showText(help->globalPos(),
                         tr("Detector score: P(the token is a deviation), 0 to 1; the red tick "
                            "is tau"),
                         this);
    else
      QToolTip::hideText();
    return true;
  }
  return QWidget::event(event);
}

}  // namespace nmar::widgets
