#pragma once
/**
 * @file A QCustomPlot layerable that hatches a set of matrix cells (e.g. pruned attention keys).
 * Internal to viz: it includes QCustomPlot, so only viz .cpp files include it.
 */
#include <cstdint>
#include <vector>

#include "viz/qcp.h"

namespace nmar::viz {

/**
 * Draws a hatched, lightly veiled rectangle over every masked cell of a rows × cols grid whose
 * cell (row, col) is centred at (key = col, value = row) on the given axes. Owned by the plot
 * (QObject parent). GUI thread only.
 */
class CellMaskLayer : public QCPLayerable {
 public:
  /** Creates the layerable on @p layerName of @p plot, positioned by the two axes. */
  CellMaskLayer(QCustomPlot* plot, QCPAxis* keyAxis, QCPAxis* valueAxis, const QString& layerName);

  /** Replaces the mask: @p mask holds rows * cols flags in row-major order (non-zero = hatched). */
  void setMask(int rows, int cols, std::vector<char> mask);

  /** The hatch colour (default dark grey, mostly opaque). */
  void setHatchColor(const QColor& color);

 protected:
  void applyDefaultAntialiasingHint(QCPPainter* painter) const override;
  QRect clipRect() const override;
  void draw(QCPPainter* painter) override;

 private:
  /** Above this many visible cells the mask is drawn as one screen-sized image. */
  static constexpr std::int64_t kVectorCellLimit = 4096;
  void drawVector(QCPPainter* painter, int r0, int r1, int c0, int c1);
  void drawRaster(QCPPainter* painter, int r0, int r1, int c0, int c1);

  QPointer<QCPAxis> m_keyAxis;
  QPointer<QCPAxis> m_valueAxis;
  int m_rows = 0;
  int m_cols = 0;
  std::vector<char> m_mask;
  QColor m_hatchColor{40, 40, 40, 220};
};

}  // namespace nmar::viz
