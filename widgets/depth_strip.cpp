#include "widgets/depth_strip.h"

#include <algorithm>

#include <QMouseEvent>
#include <QPainter>

namespace nmar::widgets {

DepthStrip::DepthStrip(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("depthStrip"));
  setMinimumHeight(36);
  setToolTip(tr("Stack depth after each step (orange: an UNDO popped a token)"));
}

void DepthStrip::setDepths(const QList<int>& depths, int applied) {
  m_depths = depths;
  m_applied = std::clamp(applied, 0, int(depths.size()));
  update();
}

void DepthStrip::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRectF area = QRectF(rect()).adjusted(2, 4, -2, -4);
  p.fillRect(rect(), palette().base());
  p.setPen(palette().color(QPalette::PlaceholderText));
  p.drawText(area, Qt::AlignLeft | Qt::AlignTop, tr("depth"));
  if (m_depths.isEmpty()) return;
  const int maxDepth = std::max(1, *std::max_element(m_depths.begin(), m_depths.end()));
  const qreal w = area.width() / m_depths.size();
  for (int k = 0; k < m_depths.size(); ++k) {
    const qreal h = area.height() * m_depths[k] / maxDepth;
    const bool pop = k > 0 ? m_depths[k] < m_depths[k - 1] : false;
    QColor c = pop ? QColor(230, 150, 40) : QColor(80, 120, 190);
    if (k >= m_applied) c.setAlpha(60);  // future steps of a replayed trace
    p.fillRect(QRectF(area.left() + k * w, area.bottom() - h, std::max<qreal>(w - 0.5, 0.8), h), c);
  }
  if (m_applied > 0) {
    const qreal x = area.left() + m_applied * w;
    p.setPen(QPen(QColor(200, 30, 30), 1.5));
    p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
  }
}

void DepthStrip::mousePressEvent(QMouseEvent* event) {
  if (m_depths.isEmpty()) return;
  const qreal w = qreal(width() - 4) / m_depths.size();
  const int k = std::clamp(int((event->position().x() - 2) / w), 0, int(m_depths.size()) - 1);
  Q_EMIT stepClicked(k + 1);
}

}  // namespace nmar::widgets
