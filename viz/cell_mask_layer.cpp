#include "viz/cell_mask_layer.h"

#include <algorithm>
#include <cmath>

#include <utility>

namespace nmar::viz {

CellMaskLayer::CellMaskLayer(QCustomPlot* plot, QCPAxis* keyAxis, QCPAxis* valueAxis,
                             const QString& layerName)
    : QCPLayerable(plot, layerName), m_keyAxis(keyAxis), m_valueAxis(valueAxis) {}

void CellMaskLayer::setMask(int rows, int cols, std::vector<char> mask) {
  m_rows = rows;
  m_cols = cols;
  m_mask = std::move(mask);
}

void CellMaskLayer::setHatchColor(const QColor& color) { m_hatchColor = color; }

void CellMaskLayer::applyDefaultAntialiasingHint(QCPPainter* painter) const {
  applyAntialiasingHint(painter, false, QCP::aeOther);
}

QRect CellMaskLayer::clipRect() const {
  if (m_keyAxis && m_keyAxis->axisRect()) return m_keyAxis->axisRect()->rect();
  return {};
}

void CellMaskLayer::draw(QCPPainter* painter) {
  if (!m_keyAxis || !m_valueAxis || m_mask.empty()) return;
  // One rectangle per horizontal run of masked cells keeps the path short for long spans.
  // Only the rows and columns inside the axis ranges are drawn (zoomed or cropped views of long
  // traces stay cheap).
  const QCPRange keys = m_keyAxis->range();
  const QCPRange values = m_valueAxis->range();
  const int r0 = std::max(0, int(std::floor(values.lower)));
  const int r1 = std::min(m_rows, int(std::ceil(values.upper)) + 1);
  const int c0 = std::max(0, int(std::floor(keys.lower)));
  const int c1 = std::min(m_cols, int(std::ceil(keys.upper)) + 1);
  QPainterPath path;
  for (int r = r0; r < r1; ++r) {
    int c = c0;
    while (c < c1) {
      if (!m_mask[static_cast<size_t>(r) * m_cols + c]) {
        ++c;
        continue;
      }
      const int start = c;
      while (c < c1 && m_mask[static_cast<size_t>(r) * m_cols + c]) ++c;
      const QPointF a(m_keyAxis->coordToPixel(start - 0.5), m_valueAxis->coordToPixel(r - 0.5));
      const QPointF b(m_keyAxis->coordToPixel(c - 0.5), m_valueAxis->coordToPixel(r + 0.5));
      path.addRect(QRectF(a, b).normalized());
    }
  }
  if (path.isEmpty()) return;
  painter->setPen(Qt::NoPen);
  painter->setBrush(QColor(255, 255, 255, 110));  // veil: pruned cells read as "switched off"
  painter->drawPath(path);
  painter->setBrush(QBrush(m_hatchColor, Qt::BDiagPattern));
  painter->drawPath(path);
  painter->setPen(QPen(m_hatchColor, 0));
  painter->setBrush(Qt::NoBrush);
  painter->drawPath(path.simplified());
}

}  // namespace nmar::viz
