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
  // Only the rows and columns inside the axis ranges count (cropped or zoomed views stay cheap).
  const QCPRange keys = m_keyAxis->range();
  const QCPRange values = m_valueAxis->range();
  const int r0 = std::max(0, int(std::floor(values.lower)));
  const int r1 = std::min(m_rows, int(std::ceil(values.upper)) + 1);
  const int c0 = std::max(0, int(std::floor(keys.lower)));
  const int c1 = std::min(m_cols, int(std::ceil(keys.upper)) + 1);
  if (r0 >= r1 || c0 >= c1) return;
  // Few visible cells: vector rectangles with outlines (exact in SVG/PDF exports). Many: one
  // screen-sized image, so that a 2,000 × 2,000 map with long pruned spans costs one pass over
  // the pixels instead of a path of thousands of rectangles.
  if (std::int64_t(r1 - r0) * (c1 - c0) <= kVectorCellLimit) {
    drawVector(painter, r0, r1, c0, c1);
  } else {
    drawRaster(painter, r0, r1, c0, c1);
  }
}

void CellMaskLayer::drawVector(QCPPainter* painter, int r0, int r1, int c0, int c1) {
  // One rectangle per horizontal run of masked cells keeps the path short for long spans.
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

void CellMaskLayer::drawRaster(QCPPainter* painter, int r0, int r1, int c0, int c1) {
  const QRect area = clipRect();
  if (area.isEmpty()) return;
  // The matrix cell under each pixel column and row (-1: none or outside the visible part).
  std::vector<int> colOf(static_cast<size_t>(area.width()), -1);
  for (int x = 0; x < area.width(); ++x) {
    const int c = int(std::floor(m_keyAxis->pixelToCoord(area.left() + x + 0.5) + 0.5));
    if (c >= c0 && c < c1) colOf[static_cast<size_t>(x)] = c;
  }
  QImage image(area.size(), QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  const QRgb veil = qPremultiply(qRgba(255, 255, 255, 110));
  const QRgb hatch = qPremultiply(m_hatchColor.rgba());
  for (int y = 0; y < area.height(); ++y) {
    const int r = int(std::floor(m_valueAxis->pixelToCoord(area.top() + y + 0.5) + 0.5));
    if (r < r0 || r >= r1) continue;
    const char* maskRow = m_mask.data() + static_cast<size_t>(r) * m_cols;
    auto* line = reinterpret_cast<QRgb*>(image.scanLine(y));
    for (int x = 0; x < area.width(); ++x) {
      const int c = colOf[static_cast<size_t>(x)];
      if (c < 0 || !maskRow[c]) continue;
      // Back-diagonal lines every 8 pixels, as Qt::BDiagPattern draws them.
      line[x] = ((area.left() + x + area.top() + y) % 8 == 0) ? hatch : veil;
    }
  }
  painter->drawImage(area.topLeft(), image);
}

}  // namespace nmar::viz
