#include "viz/heatmap_view.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>

#include "viz/cell_mask_layer.h"
#include "viz/plot_export.h"
#include "viz/qcp.h"

namespace nmar::viz {
namespace {

// Longer token labels are elided on the axes (never in tooltips).
constexpr int kMaxLabelPixels = 120;
const char* const kShadingLayer = "shading";

/** Viridis: perceptually uniform and readable in grey scale; good for probabilities. */
QCPColorGradient viridis() {
  static const int kStops[][3] = {{68, 1, 84},    {72, 35, 116},  {64, 67, 135},  {52, 94, 141},
                                  {41, 120, 142}, {32, 144, 140}, {34, 167, 132}, {68, 190, 112},
                                  {121, 209, 81}, {189, 222, 38}, {253, 231, 37}};
  QCPColorGradient gradient;
  gradient.clearColorStops();
  const int n = static_cast<int>(std::size(kStops));
  for (int i = 0; i < n; ++i) {
    gradient.setColorStopAt(double(i) / (n - 1), QColor(kStops[i][0], kStops[i][1], kStops[i][2]));
  }
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  gradient.setNanHandling(QCPColorGradient::nhTransparent);
  return gradient;
}

void styleMatrixAxis(QCPAxis* axis) {
  axis->setVisible(true);
  axis->grid()->setVisible(false);
  axis->setSubTicks(false);
  axis->setTickLength(0, 3);
  axis->setTickLabelPadding(3);
}

/** Tick positions 0, step, 2·step, ... labelled from @p label (elided to fit). */
QSharedPointer<QCPAxisTicker> labelTicker(int count, int step, const QFont& font,
                                          const std::function<QString(int)>& label) {
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  const QFontMetrics metrics(font);
  for (int i = 0; i < count; i += step) {
    ticker->addTick(i, metrics.elidedText(label(i), Qt::ElideRight, kMaxLabelPixels));
  }
  return ticker;
}

/**
 * QCPColorMap that keeps its mirrored image between replots. The row axis is reversed (row 0 at
 * the top), and QCPColorMap::draw() mirrors its whole map image on every replot for that: 16 MB
 * copied per frame for a 2,000 × 2,000 map. Here the mirrored image is made once per data or
 * colour change. Vector exports (PDF/SVG) take the base class's path.
 */
class CachedColorMap : public QCPColorMap {
 public:
  using QCPColorMap::QCPColorMap;
  /** Call after changing the data cells (QCPColorMapData does not tell subclasses). */
  void markDataChanged() { m_dataChanged = true; }

 protected:
  void draw(QCPPainter* painter) override {
    if (painter->modes().testFlag(QCPPainter::pmVectorized) || !mKeyAxis || !mValueAxis ||
        mMapData->isEmpty()) {
      m_dataChanged = false;
      QCPColorMap::draw(painter);
      return;
    }
    applyDefaultAntialiasingHint(painter);
    if (m_dataChanged || mMapImageInvalidated) {
      updateMapImage();
      m_dataChanged = false;
    }
    const bool mirrorX = keyAxis()->rangeReversed();
    const bool mirrorY = valueAxis()->rangeReversed();
    if (m_sourceKey != mMapImage.cacheKey() || m_mirrorX != mirrorX || m_mirrorY != mirrorY) {
      m_mirrored = mMapImage.mirrored(mirrorX, mirrorY);
      m_sourceKey = mMapImage.cacheKey();
      m_mirrorX = mirrorX;
      m_mirrorY = mirrorY;
    }
    // As QCPColorMap::draw(): cells are centred on the data range, so extend by half a cell.
    QRectF imageRect =
        QRectF(coordsToPixels(mMapData->keyRange().lower, mMapData->valueRange().lower),
               coordsToPixels(mMapData->keyRange().upper, mMapData->valueRange().upper))
            .normalized();
    const double halfW =
        mMapData->keySize() > 1 ? 0.5 * imageRect.width() / (mMapData->keySize() - 1) : 0.0;
    const double halfH =
        mMapData->valueSize() > 1 ? 0.5 * imageRect.height() / (mMapData->valueSize() - 1) : 0.0;
    imageRect.adjust(-halfW, -halfH, halfW, halfH);
    const bool smooth = painter->renderHints().testFlag(QPainter::SmoothPixmapTransform);
    painter->setRenderHint(QPainter::SmoothPixmapTransform, mInterpolate);
    painter->drawImage(imageRect, m_mirrored);
    painter->setRenderHint(QPainter::SmoothPixmapTransform, smooth);
  }

 private:
  bool m_dataChanged = true;
  QImage m_mirrored;
  qint64 m_sourceKey = 0;
  bool m_mirrorX = false;
  bool m_mirrorY = false;
};

}  // namespace

QString HeatmapMatrix::validate() const {
  if (rows < 0 || cols < 0) {
    return QStringLiteral("heatmap matrix: rows (%1) and cols (%2) must not be negative")
        .arg(rows)
        .arg(cols);
  }
  const qint64 expected = qint64(rows) * cols;
  if (qint64(values.size()) != expected) {
    return QStringLiteral(
               "heatmap matrix: 'values' holds %1 numbers, expected rows × cols = "
               "%2 × %3 = %4")
        .arg(values.size())
        .arg(rows)
        .arg(cols)
        .arg(expected);
  }
  if (!rowLabels.isEmpty() && rowLabels.size() != rows) {
    return QStringLiteral(
               "heatmap matrix: 'rowLabels' holds %1 labels, expected %2 (one per row) "
               "or none")
        .arg(rowLabels.size())
        .arg(rows);
  }
  if (!colLabels.isEmpty() && colLabels.size() != cols) {
    return QStringLiteral(
               "heatmap matrix: 'colLabels' holds %1 labels, expected %2 (one per "
               "column) or none")
        .arg(colLabels.size())
        .arg(cols);
  }
  return {};
}

HeatmapView::HeatmapView(QWidget* parent)
    : QWidget(parent), m_rowTitle(QStringLiteral("query")), m_colTitle(QStringLiteral("key")) {
  m_plot = new QCustomPlot(this);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setMouseTracking(true);  // hover read-out without a pressed button
  m_plot->installEventFilter(this);

  // Columns along the top (matrix convention), rows down the left with row 0 at the top.
  m_plot->xAxis->setVisible(false);
  m_plot->xAxis->grid()->setVisible(false);
  styleMatrixAxis(m_plot->xAxis2);
  styleMatrixAxis(m_plot->yAxis);
  m_plot->yAxis->setRangeReversed(true);
  m_plot->xAxis2->setLabel(m_colTitle);
  m_plot->yAxis->setLabel(m_rowTitle);

  m_colorMap = new CachedColorMap(m_plot->xAxis2, m_plot->yAxis);
  m_colorMap->setInterpolate(false);
  m_colorScale = new QCPColorScale(m_plot);
  m_colorScale->setType(QCPAxis::atRight);
  m_colorScale->setBarWidth(12);
  m_colorScale->axis()->setLabel(QStringLiteral("value"));
  m_plot->plotLayout()->addElement(0, 1, m_colorScale);
  m_colorMap->setColorScale(m_colorScale);
  m_colorMap->setGradient(viridis());  // after linking the scale, which would impose its own
  auto* margins = new QCPMarginGroup(m_plot);
  m_plot->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
  m_colorScale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

  m_plot->addLayer(QString::fromLatin1(kShadingLayer), m_plot->layer(QStringLiteral("main")),
                   QCustomPlot::limAbove);
  m_maskLayer =
      new CellMaskLayer(m_plot, m_plot->xAxis2, m_plot->yAxis, QString::fromLatin1(kShadingLayer));

  m_plot->axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
  m_plot->axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
  m_plot->axisRect()->setRangeDragAxes(m_plot->xAxis2, m_plot->yAxis);
  m_plot->axisRect()->setRangeZoomAxes(m_plot->xAxis2, m_plot->yAxis);
  setZoomPanEnabled(true);
  connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
          [this] { updateTickLabels(); });
  connect(m_plot, &QCustomPlot::mouseMove, this, &HeatmapView::onMouseMove);
  connect(m_plot, &QCustomPlot::afterLayout, this, [this] { updateTickLabels(); });
  clear();
}

HeatmapView::~HeatmapView() = default;

void HeatmapView::fillCells(QCPColorMapData* data, const HeatmapMatrix& m) {
  const int rows = m.rows;
  const int cols = m.cols;
  // QCPColorMap gives a 1-wide dimension zero extent, so such a dimension is stored twice
  // over half-cells: (-0.25, 0.25) still spans -0.5 .. 0.5 like every other cell.
  const int keySize = cols == 1 ? 2 : cols;
  const int valueSize = rows == 1 ? 2 : rows;
  data->setSize(keySize, valueSize);
  data->setRange(cols == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, cols - 1),
                 rows == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, rows - 1));
  for (int k = 0; k < keySize; ++k) {
    for (int v = 0; v < valueSize; ++v) {
      const int c = cols == 1 ? 0 : k;
      const int r = rows == 1 ? 0 : v;
      data->setCell(k, v, m.values[size_t(r) * cols + c]);
    }
  }
}

HeatmapCells prepareHeatmapCells(const HeatmapMatrix& matrix) {
  if (!matrix.validate().isEmpty() || matrix.rows == 0 || matrix.cols == 0) return {};
  auto data = std::make_shared<QCPColorMapData>(1, 1, QCPRange(0, 1), QCPRange(0, 1));
  HeatmapView::fillCells(data.get(), matrix);
  return data;
}

bool HeatmapView::setMatrix(HeatmapMatrix matrix, QString* error, const HeatmapCells& cells) {
  const QString problem = matrix.validate();
  if (!problem.isEmpty()) {
    if (error) *error = problem;
    return false;
  }
  m_matrix = std::move(matrix);
  const int rows = m_matrix.rows;
  const int cols = m_matrix.cols;
  m_shaded.assign(size_t(rows) * cols, 0);
  m_maskLayer->setMask(rows, cols, m_shaded);
  setHoveredCell({}, {});

  QCPColorMapData* data = m_colorMap->data();
  if (rows == 0 || cols == 0) {
    data->clear();
  } else if (cells && cells->keySize() == (cols == 1 ? 2 : cols) &&
             cells->valueSize() == (rows == 1 ? 2 : rows)) {
    *data = *cells;  // prepared on another thread: one copy of the cell array here
  } else {
    fillCells(data, m_matrix);
  }
  static_cast<CachedColorMap*>(m_colorMap)->markDataChanged();
  m_visibleRows = rows;
  m_visibleCols = cols;
  m_plot->xAxis2->setRange(-0.5, std::max(cols, 1) - 0.5);
  m_plot->yAxis->setRange(-0.5, std::max(rows, 1) - 0.5);
  m_rowStep = 0;  // force new tickers
  m_colStep = 0;
  m_widestColLabel = -1;
  updateTickLabels();
  updateColorRange();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
  return true;
}

void HeatmapView::clear() { setMatrix(HeatmapMatrix{}); }

void HeatmapView::setVisibleExtent(int rows, int cols) {
  m_visibleRows = rows < 0 ? m_matrix.rows : std::min(rows, m_matrix.rows);
  m_visibleCols = cols < 0 ? m_matrix.cols : std::min(cols, m_matrix.cols);
  fitView();
}

void HeatmapView::fitView() {
  m_plot->xAxis2->setRange(-0.5, std::max(m_visibleCols, 1) - 0.5);
  m_plot->yAxis->setRange(-0.5, std::max(m_visibleRows, 1) - 0.5);
  updateTickLabels();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setZoomPanEnabled(bool enabled) {
  m_plot->setInteraction(QCP::iRangeDrag, enabled);
  m_plot->setInteraction(QCP::iRangeZoom, enabled);
}

double HeatmapView::valueAt(int row, int col) const {
  if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return m_matrix.values[size_t(row) * m_matrix.cols + col];
}

void HeatmapView::setAxisTitles(const QString& rowTitle, const QString& colTitle) {
  m_rowTitle = rowTitle;
  m_colTitle = colTitle;
  m_plot->yAxis->setLabel(rowTitle);
  m_plot->xAxis2->setLabel(colTitle);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setValueTitle(const QString& title) {
  m_colorScale->axis()->setLabel(title);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setColorRange(double lower, double upper) {
  m_autoRange = false;
  m_colorMap->setDataRange(QCPRange(std::min(lower, upper), std::max(lower, upper)));
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::setAutoColorRange() {
  m_autoRange = true;
  updateColorRange();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

std::pair<double, double> HeatmapView::colorRange() const {
  const QCPRange range = m_colorMap->dataRange();
  return {range.lower, range.upper};
}

void HeatmapView::updateColorRange() {
  if (!m_autoRange) return;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (float v : m_matrix.values) {
    if (!std::isfinite(v)) continue;  // NaN marks "no value", it must not stretch the scale
    lo = std::min(lo, double(v));
    hi = std::max(hi, double(v));
  }
  if (lo > hi) {
    lo = 0.0;
    hi = 1.0;
  } else if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  m_colorMap->setDataRange(QCPRange(lo, hi));
}

bool HeatmapView::setShadedCells(const std::vector<std::pair<int, int>>& cells, QString* error) {
  std::vector<char> mask(size_t(m_matrix.rows) * m_matrix.cols, 0);
  for (const auto& [row, col] : cells) {
    if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) {
      if (error) {
        *error = QStringLiteral("shaded cell (row %1, col %2) lies outside the %3 × %4 matrix")
                     .arg(row)
                     .arg(col)
                     .arg(m_matrix.rows)
                     .arg(m_matrix.cols);
      }
      return false;
    }
    mask[size_t(row) * m_matrix.cols + col] = 1;
  }
  m_shaded = std::move(mask);
  m_maskLayer->setMask(m_matrix.rows, m_matrix.cols, m_shaded);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
  return true;
}

bool HeatmapView::setShadedMask(const std::vector<bool>& mask, QString* error) {
  const size_t expected = size_t(m_matrix.rows) * m_matrix.cols;
  if (mask.size() != expected) {
    if (error) {
      *error = QStringLiteral("shading mask holds %1 flags, expected rows × cols = %2 × %3 = %4")
                   .arg(mask.size())
                   .arg(m_matrix.rows)
                   .arg(m_matrix.cols)
                   .arg(expected);
    }
    return false;
  }
  m_shaded.assign(mask.begin(), mask.end());
  m_maskLayer->setMask(m_matrix.rows, m_matrix.cols, m_shaded);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
  return true;
}

void HeatmapView::clearShading() { setShadedCells({}); }

bool HeatmapView::isShaded(int row, int col) const {
  if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) return false;
  return m_shaded[size_t(row) * m_matrix.cols + col] != 0;
}

int HeatmapView::shadedCount() const {
  return int(std::count(m_shaded.begin(), m_shaded.end(), char(1)));
}

HeatmapCell HeatmapView::cellAt(const QPointF& pos) const {
  if (m_matrix.rows == 0 || m_matrix.cols == 0) return {};
  if (!m_plot->axisRect()->rect().contains(pos.toPoint())) return {};
  const int col = int(std::floor(m_plot->xAxis2->pixelToCoord(pos.x()) + 0.5));
  const int row = int(std::floor(m_plot->yAxis->pixelToCoord(pos.y()) + 0.5));
  if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) return {};
  return {row, col};
}

QString HeatmapView::rowLabel(int row) const {
  return m_matrix.rowLabels.isEmpty() ? QString::number(row) : m_matrix.rowLabels.at(row);
}

QString HeatmapView::colLabel(int col) const {
  return m_matrix.colLabels.isEmpty() ? QString::number(col) : m_matrix.colLabels.at(col);
}

QString HeatmapView::cellText(int row, int col) const {
  if (row < 0 || col < 0 || row >= m_matrix.rows || col >= m_matrix.cols) return {};
  const double value = valueAt(row, col);
  QString text =
      QStringLiteral("%1 '%2' → %3 '%4': %5")
          .arg(m_rowTitle, rowLabel(row), m_colTitle, colLabel(col),
               std::isnan(value) ? QStringLiteral("no value") : QString::number(value, 'f', 3));
  if (isShaded(row, col)) text += QStringLiteral(" (shaded)");
  return text;
}

bool HeatmapView::exportTo(const QString& path, QString* error, int width, int height) {
  layoutForSize(exportSize(m_plot, width, height));
  return exportPlot(m_plot, path, error, width, height);
}

void HeatmapView::layoutForSize(const QSize& size) {
  // Label density depends on the axis rect, which depends on the labels: lay out at the target
  // size until both agree, so an export at another size than the screen gets readable labels.
  const QRect old = m_plot->viewport();
  m_plot->setViewport(QRect(QPoint(0, 0), size));
  for (int pass = 0; pass < 3; ++pass) {
    m_plot->plotLayout()->update(QCPLayoutElement::upPreparation);
    m_plot->plotLayout()->update(QCPLayoutElement::upMargins);
    m_plot->plotLayout()->update(QCPLayoutElement::upLayout);
    if (!updateTickLabels()) break;
  }
  m_plot->setViewport(old);
}

bool HeatmapView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == m_plot && event->type() == QEvent::Leave) setHoveredCell({}, {});
  return QWidget::eventFilter(watched, event);
}

void HeatmapView::onMouseMove(QMouseEvent* event) {
  setHoveredCell(cellAt(event->position()), event->globalPosition().toPoint());
}

void HeatmapView::setHoveredCell(const HeatmapCell& cell, const QPoint& globalPos) {
  if (cell.row == m_hovered.row && cell.col == m_hovered.col) return;
  const bool wasValid = m_hovered.isValid();
  m_hovered = cell;
  if (cell.isValid()) {
    Q_EMIT cellHovered(cell.row, cell.col, valueAt(cell.row, cell.col));
    QToolTip::showText(globalPos, cellText(cell.row, cell.col), m_plot);
  } else if (wasValid) {
    Q_EMIT hoverLeft();
    QToolTip::hideText();
  }
}

bool HeatmapView::updateTickLabels() {
  const QRect rect = m_plot->axisRect()->rect();
  const int rows = m_matrix.rows;
  const int cols = m_matrix.cols;
  const QFontMetrics metrics(m_plot->yAxis->tickLabelFont());
  const double lineHeight = metrics.height() * 1.15;
  if (m_widestColLabel < 0) {  // once per matrix: measuring 2,000 labels per frame shows
    m_widestColLabel = 0;
    for (int c = 0; c < cols; ++c) {
      m_widestColLabel = std::max(
          m_widestColLabel, std::min(metrics.horizontalAdvance(colLabel(c)), kMaxLabelPixels));
    }
  }
  const int widest = m_widestColLabel;
  // Before the first layout the rect is empty: assume room for every label, refine after layout.
  // Cell sizes follow the axis ranges, so zooming in shows more labels.
  const double shownRows = std::max(1.0, m_plot->yAxis->range().size());
  const double shownCols = std::max(1.0, m_plot->xAxis2->range().size());
  const double cellHeight = rows > 0 && rect.height() > 0 ? double(rect.height()) / shownRows : 1e9;
  const double cellWidth = cols > 0 && rect.width() > 0 ? double(rect.width()) / shownCols : 1e9;
  const bool vertical = widest + 4 > cellWidth;
  const int rowStep = std::max(1, int(std::ceil(lineHeight / cellHeight)));
  const int colStep =
      std::max(1, int(std::ceil((vertical ? lineHeight : widest + 6.0) / cellWidth)));
  if (rowStep == m_rowStep && colStep == m_colStep && vertical == m_colVertical) return false;
  m_rowStep = rowStep;
  m_colStep = colStep;
  m_colVertical = vertical;
  m_plot->yAxis->setTicker(labelTicker(rows, rowStep, m_plot->yAxis->tickLabelFont(),
                                       [this](int r) { return rowLabel(r); }));
  m_plot->xAxis2->setTicker(labelTicker(cols, colStep, m_plot->xAxis2->tickLabelFont(),
                                        [this](int c) { return colLabel(c); }));
  m_plot->xAxis2->setTickLabelRotation(vertical ? -90 : 0);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
  return true;
}

}  // namespace nmar::viz
