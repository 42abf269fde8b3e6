#pragma once
/** @file A labelled matrix heatmap (query × key attention and the like) with a colour bar. */
#include <memory>
#include <utility>
#include <vector>

#include <QString>
#include <QStringList>
#include <QWidget>

class QCustomPlot;
class QCPColorMap;
class QCPColorMapData;
class QCPColorScale;
class QMouseEvent;

namespace nmar::viz {

class CellMaskLayer;

/** A rows × cols matrix of floats in row-major order, with optional labels for rows and columns. */
struct HeatmapMatrix {
  int rows = 0;
  int cols = 0;
  std::vector<float>
      values;             ///< rows * cols values, row-major: values[r * cols + c]; NaN = no value
  QStringList rowLabels;  ///< one label per row, or empty for "0", "1", ...
  QStringList colLabels;  ///< one label per column, or empty for "0", "1", ...

  /** Empty when consistent; otherwise a message naming the field that is wrong and what was
   * expected. */
  QString validate() const;
};

/** The colour-map cells of a matrix, prepared off the GUI thread by prepareHeatmapCells(). */
using HeatmapCells = std::shared_ptr<const QCPColorMapData>;

/**
 * Builds the colour-map cells of @p matrix: the O(rows × cols) part of HeatmapView::setMatrix(),
 * for a worker thread (QCPColorMapData is a plain value). Null for an empty or invalid matrix.
 */
HeatmapCells prepareHeatmapCells(const HeatmapMatrix& matrix);

/** A cell of the matrix; row and col are -1 when there is none (e.g. the mouse is outside). */
struct HeatmapCell {
  int row = -1;
  int col = -1;
  bool isValid() const { return row >= 0 && col >= 0; }
};

/**
 * Shows a HeatmapMatrix as a colour map: row labels on the left axis (row 0 at the top), column
 * labels on the top axis, a colour bar on the right. Cells can be hatched (e.g. pruned keys);
 * NaN cells are transparent (e.g. causally masked keys). Hovering a cell emits cellHovered() and
 * shows a tooltip such as "query 'x' → key 'y': 0.123". Exports to PNG, SVG or PDF.
 * GUI thread only.
 */
class HeatmapView : public QWidget {
  Q_OBJECT
 public:
  explicit HeatmapView(QWidget* parent = nullptr);
  ~HeatmapView() override;

  /**
   * Shows @p matrix and clears the shading. Returns false, leaving the view unchanged, when the
   * matrix is inconsistent (message in @p error). @p cells, from prepareHeatmapCells(@p matrix)
   * on another thread, saves filling the colour map here (a 2,000 × 2,000 map: ~100 ms).
   */
  bool setMatrix(HeatmapMatrix matrix, QString* error = nullptr, const HeatmapCells& cells = {});
  /** Removes matrix and shading; the view shows empty axes. */
  void clear();
  /** The matrix shown (empty after clear()). */
  const HeatmapMatrix& matrix() const { return m_matrix; }
  /** Value at (@p row, @p col), or NaN outside the matrix. */
  double valueAt(int row, int col) const;

  /** Names of the row and column dimensions (default "query" and "key"), used on axes and tooltip.
   */
  void setAxisTitles(const QString& rowTitle, const QString& colTitle);
  /** Label of the colour bar (default "value"). */
  void setValueTitle(const QString& title);

  /** Fixes the colour scale to [@p lower, @p upper] (e.g. [0, 1] for probabilities). */
  void setColorRange(double lower, double upper);
  /** Lets the colour scale follow the finite values of the matrix again (the default). */
  void setAutoColorRange();
  /** The colour scale's current range. */
  std::pair<double, double> colorRange() const;

  /**
   * Hatches the given (row, col) cells, replacing any previous shading. Returns false, leaving the
   * shading unchanged, when a cell lies outside the matrix (message in @p error names it).
   */
  bool setShadedCells(const std::vector<std::pair<int, int>>& cells, QString* error = nullptr);
  /** Same from a row-major mask of rows * cols flags; false when its size does not match. */
  bool setShadedMask(const std::vector<bool>& mask, QString* error = nullptr);
  /** Removes all hatching. */
  void clearShading();
  /** Whether (@p row, @p col) is hatched. */
  bool isShaded(int row, int col) const;
  /** Number of hatched cells. */
  int shadedCount() const;

  /**
   * Shows only the top-left @p rows × @p cols cells (clamped to the matrix; -1 = all), e.g. the
   * queries and keys that exist at a replay step. Only the axis ranges change: nothing is
   * rebuilt, so this is cheap for large matrices. Also what "fit" goes back to after zoom/pan.
   */
  void setVisibleExtent(int rows, int cols);
  /** The extent set by setVisibleExtent() (the matrix size by default). */
  QSize visibleExtent() const { return QSize(m_visibleCols, m_visibleRows); }
  /** Resets zoom and pan to the visible extent. */
  void fitView();
  /** Mouse-wheel zoom and drag-to-pan on both axes (on by default). */
  void setZoomPanEnabled(bool enabled);

  /** The cell under @p pos (pixel coordinates of plot()), or an invalid cell outside the matrix. */
  HeatmapCell cellAt(const QPointF& pos) const;
  /** The read-out for a cell, e.g. "query 'x' → key 'y': 0.123"; empty outside the matrix. */
  QString cellText(int row, int col) const;

  /**
   * Exports the view to @p path as PNG, SVG or PDF by extension (see exportPlot()). Returns false
   * with a message in @p error for an unknown extension or a failed write.
   */
  bool exportTo(const QString& path, QString* error = nullptr, int width = 0, int height = 0);

  /** The underlying plot, colour map and colour scale (owned by this view). */
  QCustomPlot* plot() const { return m_plot; }
  QCPColorMap* colorMap() const { return m_colorMap; }
  QCPColorScale* colorScale() const { return m_colorScale; }

 Q_SIGNALS:
  /** The mouse entered cell (@p row, @p col) holding @p value. */
  void cellHovered(int row, int col, double value);
  /** The mouse left the matrix (or the view). */
  void hoverLeft();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  friend HeatmapCells prepareHeatmapCells(const HeatmapMatrix& matrix);
  static void fillCells(QCPColorMapData* data, const HeatmapMatrix& matrix);
  void onMouseMove(QMouseEvent* event);
  void setHoveredCell(const HeatmapCell& cell, const QPoint& globalPos);
  /** Picks label steps and orientation for the current axis rect; true when they changed. */
  bool updateTickLabels();
  void layoutForSize(const QSize& size);
  void updateColorRange();
  QString rowLabel(int row) const;
  QString colLabel(int col) const;

  QCustomPlot* m_plot = nullptr;
  QCPColorMap* m_colorMap = nullptr;
  QCPColorScale* m_colorScale = nullptr;
  CellMaskLayer* m_maskLayer = nullptr;
  HeatmapMatrix m_matrix;
  std::vector<char> m_shaded;
  QString m_rowTitle;
  QString m_colTitle;
  bool m_autoRange = true;
  HeatmapCell m_hovered;
  int m_visibleRows = 0;
  int m_visibleCols = 0;
  int m_widestColLabel = -1;  // pixels; -1: not measured for this matrix yet
  int m_rowStep = 0;          // label every n-th row / column, so labels never overlap
  int m_colStep = 0;
  bool m_colVertical = false;
};

}  // namespace nmar::viz
