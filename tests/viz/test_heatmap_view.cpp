// HeatmapView: values in the right cells, labels, shading, hover read-out, export formats.
#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "viz/heatmap_view.h"
#include "viz/plot_export.h"
#include "viz/qcp.h"

using nmar::viz::HeatmapMatrix;
using nmar::viz::HeatmapView;

namespace {

/** rows × cols matrix whose cell (r, c) holds r * 10 + c (so every cell is distinguishable). */
HeatmapMatrix indexMatrix(int rows, int cols) {
  HeatmapMatrix m;
  m.rows = rows;
  m.cols = cols;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) m.values.push_back(float(r * 10 + c));
  }
  return m;
}

QByteArray head(const QString& path, int n) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return file.read(n);
}

}  // namespace

class TestHeatmapView : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void valuesLandInCells_data();
  void valuesLandInCells();
  void labelsOnBothAxes();
  void tooltipText();
  void invalidMatrixIsRejected_data();
  void invalidMatrixIsRejected();
  void colorRangeIgnoresNan();
  void shadedCells();
  void shadedMask();
  void hoverEmitsCell();
  void renderingShowsColoursNanAndHatch();
  void exportWritesValidFile_data();
  void exportWritesValidFile();
  void exportRejectsUnknownExtension();
  void exportNamesMissingFolder();
};

void TestHeatmapView::valuesLandInCells_data() {
  QTest::addColumn<int>("rows");
  QTest::addColumn<int>("cols");
  QTest::addRow("2x3") << 2 << 3;
  QTest::addRow("1x4 (single row)") << 1 << 4;
  QTest::addRow("3x1 (single column)") << 3 << 1;
  QTest::addRow("1x1") << 1 << 1;
  QTest::addRow("7x5") << 7 << 5;
}

void TestHeatmapView::valuesLandInCells() {
  QFETCH(int, rows);
  QFETCH(int, cols);
  HeatmapView view;
  QString error;
  QVERIFY2(view.setMatrix(indexMatrix(rows, cols), &error), qPrintable(error));
  QCPColorMapData* data = view.colorMap()->data();
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      // The colour map is keyed by column (x) and row (y) in cell-centre coordinates.
      QCOMPARE(data->data(c, r), double(r * 10 + c));
      QCOMPARE(view.valueAt(r, c), double(r * 10 + c));
    }
  }
  QVERIFY(std::isnan(view.valueAt(rows, 0)));
  QVERIFY(std::isnan(view.valueAt(0, -1)));
  // Every cell is inside the visible axis ranges, row 0 at the top.
  QCOMPARE(view.plot()->xAxis2->range().lower, -0.5);
  QCOMPARE(view.plot()->xAxis2->range().upper, cols - 0.5);
  QCOMPARE(view.plot()->yAxis->range().upper, rows - 0.5);
  QVERIFY(view.plot()->yAxis->rangeReversed());
}

void TestHeatmapView::labelsOnBothAxes() {
  HeatmapView view;
  HeatmapMatrix m = indexMatrix(2, 3);
  m.rowLabels = {QStringLiteral("x"), QStringLiteral("y")};
  m.colLabels = {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
  QVERIFY(view.setMatrix(m));
  auto cols = view.plot()->xAxis2->ticker().dynamicCast<QCPAxisTickerText>();
  auto rows = view.plot()->yAxis->ticker().dynamicCast<QCPAxisTickerText>();
  QVERIFY(cols);
  QVERIFY(rows);
  QCOMPARE(cols->ticks().size(), 3);
  QCOMPARE(cols->ticks().value(0), QStringLiteral("a"));
  QCOMPARE(cols->ticks().value(2), QStringLiteral("c"));
  QCOMPARE(rows->ticks().size(), 2);
  QCOMPARE(rows->ticks().value(1), QStringLiteral("y"));

  // Without labels the indices are used.
  QVERIFY(view.setMatrix(indexMatrix(2, 2)));
  cols = view.plot()->xAxis2->ticker().dynamicCast<QCPAxisTickerText>();
  QVERIFY(cols);
  QCOMPARE(cols->ticks().value(1), QStringLiteral("1"));

  view.setAxisTitles(QStringLiteral("row"), QStringLiteral("column"));
  QCOMPARE(view.plot()->yAxis->label(), QStringLiteral("row"));
  QCOMPARE(view.plot()->xAxis2->label(), QStringLiteral("column"));
  view.setValueTitle(QStringLiteral("attention"));
  QCOMPARE(view.colorScale()->axis()->label(), QStringLiteral("attention"));
}

void TestHeatmapView::tooltipText() {
  HeatmapView view;
  HeatmapMatrix m;
  m.rows = 2;
  m.cols = 2;
  m.values = {0.5f, 0.25f, 0.123f, std::nanf("")};
  m.rowLabels = {QStringLiteral("x"), QStringLiteral("6")};
  m.colLabels = {QStringLiteral("3"), QStringLiteral("y")};
  QVERIFY(view.setMatrix(m));
  QCOMPARE(view.cellText(0, 1), QStringLiteral("query 'x' → key 'y': 0.250"));
  QCOMPARE(view.cellText(1, 0), QStringLiteral("query '6' → key '3': 0.123"));
  QCOMPARE(view.cellText(1, 1), QStringLiteral("query '6' → key 'y': no value"));
  QVERIFY(view.cellText(2, 0).isEmpty());
  QVERIFY(view.setShadedCells({{1, 0}}));
  QCOMPARE(view.cellText(1, 0), QStringLiteral("query '6' → key '3': 0.123 (shaded)"));
}

void TestHeatmapView::invalidMatrixIsRejected_data() {
  QTest::addColumn<int>("rows");
  QTest::addColumn<int>("cols");
  QTest::addColumn<int>("valueCount");
  QTest::addColumn<int>("rowLabelCount");
  QTest::addColumn<int>("colLabelCount");
  QTest::addColumn<QString>("expected");
  QTest::addRow("too few values") << 2 << 3 << 5 << 0 << 0 << "'values' holds 5 numbers, expected";
  QTest::addRow("too many values") << 1 << 1 << 2 << 0 << 0 << "expected rows × cols = 1 × 1 = 1";
  QTest::addRow("row labels") << 2 << 2 << 4 << 3 << 0 << "'rowLabels' holds 3 labels, expected 2";
  QTest::addRow("col labels") << 2 << 2 << 4 << 0 << 1 << "'colLabels' holds 1 labels, expected 2";
  QTest::addRow("negative") << -1 << 2 << 0 << 0 << 0 << "must not be negative";
}

void TestHeatmapView::invalidMatrixIsRejected() {
  QFETCH(int, rows);
  QFETCH(int, cols);
  QFETCH(int, valueCount);
  QFETCH(int, rowLabelCount);
  QFETCH(int, colLabelCount);
  QFETCH(QString, expected);
  HeatmapView view;
  QVERIFY(view.setMatrix(indexMatrix(1, 2)));
  HeatmapMatrix bad;
  bad.rows = rows;
  bad.cols = cols;
  bad.values.assign(size_t(valueCount), 1.0f);
  for (int i = 0; i < rowLabelCount; ++i) bad.rowLabels << QStringLiteral("r");
  for (int i = 0; i < colLabelCount; ++i) bad.colLabels << QStringLiteral("c");
  QString error;
  QVERIFY(!view.setMatrix(bad, &error));
  QVERIFY2(error.contains(expected), qPrintable(error));
  // The view keeps what it showed.
  QCOMPARE(view.matrix().rows, 1);
  QCOMPARE(view.matrix().cols, 2);
  QCOMPARE(view.valueAt(0, 1), 1.0);
}

void TestHeatmapView::colorRangeIgnoresNan() {
  HeatmapView view;
  HeatmapMatrix m;
  m.rows = 1;
  m.cols = 4;
  m.values = {0.2f, std::nanf(""), 0.7f, 0.4f};
  QVERIFY(view.setMatrix(m));
  auto [lo, hi] = view.colorRange();
  QCOMPARE(lo, double(0.2f));
  QCOMPARE(hi, double(0.7f));
  view.setColorRange(1.0, 0.0);  // swapped bounds are put in order
  QCOMPARE(view.colorRange(), std::make_pair(0.0, 1.0));
  QVERIFY(view.setMatrix(indexMatrix(1, 3)));  // a fixed range stays fixed for new data
  QCOMPARE(view.colorRange(), std::make_pair(0.0, 1.0));
  view.setAutoColorRange();
  QCOMPARE(view.colorRange(), std::make_pair(0.0, 2.0));
}

void TestHeatmapView::shadedCells() {
  HeatmapView view;
  QVERIFY(view.setMatrix(indexMatrix(3, 4)));
  QCOMPARE(view.shadedCount(), 0);
  QVERIFY(view.setShadedCells({{0, 1}, {2, 3}, {2, 2}}));
  QCOMPARE(view.shadedCount(), 3);
  QVERIFY(view.isShaded(0, 1));
  QVERIFY(view.isShaded(2, 3));
  QVERIFY(!view.isShaded(1, 0));
  QVERIFY(!view.isShaded(3, 0));  // outside: never shaded

  QString error;
  QVERIFY(!view.setShadedCells({{0, 0}, {5, 0}}, &error));
  QVERIFY2(error.contains(QStringLiteral("(row 5, col 0)")), qPrintable(error));
  QVERIFY2(error.contains(QStringLiteral("3 × 4")), qPrintable(error));
  QCOMPARE(view.shadedCount(), 3);  // unchanged on error

  QVERIFY(view.setMatrix(indexMatrix(3, 4)));  // a new matrix starts unshaded
  QCOMPARE(view.shadedCount(), 0);
  QVERIFY(view.setShadedCells({{1, 1}}));
  view.clearShading();
  QCOMPARE(view.shadedCount(), 0);
}

void TestHeatmapView::shadedMask() {
  HeatmapView view;
  QVERIFY(view.setMatrix(indexMatrix(2, 3)));
  QVERIFY(view.setShadedMask({false, true, true, false, false, true}));
  QCOMPARE(view.shadedCount(), 3);
  QVERIFY(view.isShaded(0, 2));
  QVERIFY(view.isShaded(1, 2));
  QVERIFY(!view.isShaded(1, 0));
  QString error;
  QVERIFY(!view.setShadedMask({true, false}, &error));
  QVERIFY2(error.contains(QStringLiteral("holds 2 flags, expected rows × cols = 2 × 3 = 6")),
           qPrintable(error));
  QCOMPARE(view.shadedCount(), 3);
}

void TestHeatmapView::hoverEmitsCell() {
  HeatmapView view;
  view.resize(640, 480);
  view.show();
  QVERIFY(QTest::qWaitForWindowExposed(&view));
  QVERIFY(view.setMatrix(indexMatrix(3, 4)));
  view.plot()->replot();
  QSignalSpy hovered(&view, &HeatmapView::cellHovered);
  QSignalSpy left(&view, &HeatmapView::hoverLeft);

  auto moveTo = [&](const QPointF& pos) {
    QMouseEvent event(QEvent::MouseMove, pos, view.plot()->mapToGlobal(pos), Qt::NoButton,
                      Qt::NoButton, Qt::NoModifier);
    QCoreApplication::sendEvent(view.plot(), &event);
  };
  const QPointF cell(view.plot()->xAxis2->coordToPixel(2), view.plot()->yAxis->coordToPixel(1));
  QCOMPARE(view.cellAt(cell).row, 1);
  QCOMPARE(view.cellAt(cell).col, 2);
  moveTo(cell);
  QCOMPARE(hovered.count(), 1);
  QCOMPARE(hovered.at(0).at(0).toInt(), 1);
  QCOMPARE(hovered.at(0).at(1).toInt(), 2);
  QCOMPARE(hovered.at(0).at(2).toDouble(), 12.0);
  moveTo(cell + QPointF(1, 1));  // same cell: no new signal
  QCOMPARE(hovered.count(), 1);
  moveTo(QPointF(1, 1));  // outside the axis rect
  QCOMPARE(left.count(), 1);
  QVERIFY(!view.cellAt(QPointF(1, 1)).isValid());
}

void TestHeatmapView::renderingShowsColoursNanAndHatch() {
  HeatmapView view;
  HeatmapMatrix m;
  m.rows = 2;
  m.cols = 2;
  m.values = {1.0f, std::nanf(""), 1.0f, 1.0f};
  QVERIFY(view.setMatrix(m));
  view.setColorRange(0.0, 1.0);
  QVERIFY(view.setShadedCells({{1, 1}}));
  const QImage image = view.plot()->toPixmap(400, 300).toImage();
  auto centre = [&](int row, int col) {
    return QPoint(qRound(view.plot()->xAxis2->coordToPixel(col)),
                  qRound(view.plot()->yAxis->coordToPixel(row)));
  };
  // Count the pixels of a cell's inner square that differ from @p colour.
  auto differing = [&](int row, int col, QColor colour) {
    const QPoint c = centre(row, col);
    int count = 0;
    for (int dy = -20; dy <= 20; ++dy) {
      for (int dx = -20; dx <= 20; ++dx) count += image.pixelColor(c + QPoint(dx, dy)) != colour;
    }
    return count;
  };
  const QColor top(253, 231, 37);  // the top of the viridis scale
  QCOMPARE(image.pixelColor(centre(0, 0)), top);
  QCOMPARE(differing(0, 0, top), 0);
  QCOMPARE(differing(1, 0, top), 0);
  QCOMPARE(differing(0, 1, QColor(Qt::white)), 0);  // NaN: transparent over the white background
  QVERIFY(differing(1, 1, top) > 400);              // hatched: veil and diagonal lines
}

void TestHeatmapView::exportWritesValidFile_data() {
  QTest::addColumn<QString>("fileName");
  QTest::addColumn<QByteArray>("magic");
  QTest::addRow("png") << "map.png" << QByteArray("\x89PNG\r\n\x1a\n");
  QTest::addRow("PNG upper case") << "map.PNG" << QByteArray("\x89PNG\r\n\x1a\n");
  QTest::addRow("svg") << "map.svg" << QByteArray("<?xml");
  QTest::addRow("pdf") << "map.pdf" << QByteArray("%PDF-");
}

void TestHeatmapView::exportWritesValidFile() {
  QFETCH(QString, fileName);
  QFETCH(QByteArray, magic);
  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  HeatmapView view;
  HeatmapMatrix m = indexMatrix(4, 6);
  m.colLabels = QStringList{"3", "4", "8", "+", "2", "="};
  QVERIFY(view.setMatrix(m));
  QVERIFY(view.setShadedCells({{2, 1}, {3, 1}}));
  const QString path = dir.filePath(fileName);
  QString error;
  QVERIFY2(view.exportTo(path, &error, 640, 480), qPrintable(error));
  QVERIFY(QFileInfo(path).size() > 500);
  QCOMPARE(head(path, magic.size()), magic);
  if (fileName.endsWith(QLatin1String(".svg"))) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray svg = file.readAll();
    QVERIFY(svg.contains("<svg"));
    QVERIFY(svg.contains("</svg>"));
  }
  if (fileName.endsWith(QLatin1String(".png"), Qt::CaseInsensitive)) {
    QImage image(path);
    QCOMPARE(image.size(), QSize(640, 480));
  }
}

void TestHeatmapView::exportRejectsUnknownExtension() {
  QTemporaryDir dir;
  HeatmapView view;
  QVERIFY(view.setMatrix(indexMatrix(2, 2)));
  QString error;
  const QString path = dir.filePath(QStringLiteral("map.bmp"));
  QVERIFY(!view.exportTo(path, &error));
  QVERIFY2(error.contains(QStringLiteral("'.bmp'")), qPrintable(error));
  QVERIFY2(error.contains(QStringLiteral("expected .png, .svg or .pdf")), qPrintable(error));
  QVERIFY2(error.contains(path), qPrintable(error));
  QVERIFY(!QFileInfo::exists(path));
  QVERIFY(!view.exportTo(dir.filePath(QStringLiteral("noextension")), &error));
  QVERIFY2(error.contains(QStringLiteral("(none)")), qPrintable(error));
}

void TestHeatmapView::exportNamesMissingFolder() {
  QTemporaryDir dir;
  HeatmapView view;
  QVERIFY(view.setMatrix(indexMatrix(2, 2)));
  QString error;
  const QString path = dir.filePath(QStringLiteral("missing/map.png"));
  QVERIFY(!view.exportTo(path, &error));
  QVERIFY2(error.contains(dir.filePath(QStringLiteral("missing"))), qPrintable(error));
}

QTEST_MAIN(TestHeatmapView)
#include "test_heatmap_view.moc"
