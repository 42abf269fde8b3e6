#pragma once
/** @file The detector strip's row of cells: one per trace step, coloured by the detector score. */
#include <QList>
#include <QWidget>

#include "widgets/detector_scores.h"

namespace nmar::widgets {

/**
 * Paints DetectorCells left to right, one per step: a pushed token's cell is filled with
 * detectorColour(score) (its text inside when there is room, struck through when the token was
 * later undone); a cell over tau has a thick red frame and a ▼ mark above it. An UNDO is a
 * narrower-looking cell: magenta with "V" when the verifier caused it, light grey with "⟲" when the
 * model drew it. Steps not yet applied (replay) are faded and a red line marks the position, as in
 * the depth strip. A colour legend (0..1, tau ticked) sits at the right end. Hovering shows the
 * cell's tooltip; clicking a cell emits stepClicked(). GUI thread only.
 */
class DetectorCellsView : public QWidget {
  Q_OBJECT
 public:
  explicit DetectorCellsView(QWidget* parent = nullptr);

  /** Every step's cell (the whole trace) and how many are applied now. */
  void setCells(const QList<DetectorCell>& cells, int applied);
  void setApplied(int applied);
  void setTau(double tau);
  const QList<DetectorCell>& cells() const { return m_cells; }
  int applied() const { return m_applied; }
  double tau() const { return m_tau; }

  /** The rectangle of cell @p index (empty when out of range). */
  QRectF cellRect(int index) const;
  /** The cell index at @p pos, -1 outside every cell. */
  int cellAt(const QPointF& pos) const;
  /** The fill colour cell @p index is painted with (before fading), for tests and the legend. */
  QColor cellColour(int index) const;

  QSize sizeHint() const override { return QSize(480, 40); }
  QSize minimumSizeHint() const override { return QSize(160, 40); }

 Q_SIGNALS:
  /** Cell @p applied - 1 was clicked (the number of steps applied, 1-based, as DepthStrip). */
  void stepClicked(int applied);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  bool event(QEvent* event) override;

 private:
  QRectF cellArea() const;
  QRectF legendArea() const;
  void paintLegend(QPainter& p) const;

  QList<DetectorCell> m_cells;
  int m_applied = 0;
  double m_tau = 0.5;
};

}  // namespace nmar::widgets
