#include "viz/plot_export.h"

#include <QFileInfo>
#include <QPdfWriter>
#include <QPageSize>
#include <QSvgGenerator>
#include <QWidget>

#include "viz/qcp.h"

namespace nmar::viz {
namespace {

constexpr int kDefaultWidth = 800;
constexpr int kDefaultHeight = 600;

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

bool saveSvg(QCustomPlot* plot, const QString& path, int width, int height) {
  QSvgGenerator generator;
  generator.setFileName(path);
  generator.setSize(QSize(width, height));
  generator.setViewBox(QRect(0, 0, width, height));
  generator.setTitle(QFileInfo(path).completeBaseName());
  generator.setDescription(QStringLiteral("Exported by N-MAR Workbench"));
  QCPPainter painter;
  if (!painter.begin(&generator)) return false;
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  plot->toPainter(&painter, width, height);
  return painter.end();
}

/** Empty when @p path has a known extension and a writable folder; else the message. */
QString checkTarget(const QString& path) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (!exportFormats().contains(ext)) {
    return QStringLiteral("cannot export to '%1': unsupported extension '%2', "
                          "expected .png, .svg or .pdf")
        .arg(path, ext.isEmpty() ? QStringLiteral("(none)") : "." + ext);
  }
  const QFileInfo dir(QFileInfo(path).absolutePath());
  if (!dir.isDir() || !dir.isWritable()) {
    return QStringLiteral("cannot export to '%1': folder '%2' does not exist or is not writable")
        .arg(path, dir.absoluteFilePath());
  }
  return {};
}

}  // namespace

bool exportWidget(QWidget* widget, const QString& path, QString* error) {
  if (!widget)
    return fail(error, QStringLiteral("cannot export to '%1': there is no view").arg(path));
  if (const QString message = checkTarget(path); !message.isEmpty()) return fail(error, message);
  const QString ext = QFileInfo(path).suffix().toLower();
  const QSize size = widget->size().isEmpty() ? QSize(800, 600) : widget->size();
  bool ok = false;
  if (ext == QLatin1String("png")) {
    ok = widget->grab().save(path, "PNG");
  } else if (ext == QLatin1String("svg")) {
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(size);
    generator.setViewBox(QRect(QPoint(0, 0), size));
    generator.setTitle(QFileInfo(path).completeBaseName());
    generator.setDescription(QStringLiteral("Exported by N-MAR Workbench"));
    QPainter painter;
    ok = painter.begin(&generator);
    if (ok) {
      widget->render(&painter);
      ok = painter.end();
    }
  } else {
    QPdfWriter writer(path);
    writer.setCreator(QStringLiteral("N-MAR Workbench"));
    writer.setResolution(96);
    writer.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter painter;
    ok = painter.begin(&writer);
    if (ok) {
      widget->render(&painter);
      ok = painter.end();
    }
  }
  if (!ok) {
    return fail(error, QStringLiteral("cannot export to '%1': writing the %2 file failed")
                           .arg(path, ext.toUpper()));
  }
  return true;
}

QStringList exportFormats() {
  return {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")};
}

QSize exportSize(const QCustomPlot* plot, int width, int height) {
  // A plot that is not shown has no meaningful size of its own.
  const bool shown = plot && plot->isVisible();
  return {width > 0 ? width : (shown ? plot->width() : kDefaultWidth),
          height > 0 ? height : (shown ? plot->height() : kDefaultHeight)};
}

QString qcustomplotVersion() { return QStringLiteral(QCUSTOMPLOT_VERSION_STR); }

bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width, int height) {
  if (!plot)
    return fail(error, QStringLiteral("cannot export to '%1': there is no plot").arg(path));
  const QString ext = QFileInfo(path).suffix().toLower();
  if (!exportFormats().contains(ext)) {
    return fail(error, QStringLiteral("cannot export to '%1': unsupported extension '%2', "
                                      "expected .png, .svg or .pdf")
                           .arg(path, ext.isEmpty() ? QStringLiteral("(none)") : "." + ext));
  }
  const QSize size = exportSize(plot, width, height);
  width = size.width();
  height = size.height();
  const QFileInfo dir(QFileInfo(path).absolutePath());
  if (!dir.isDir() || !dir.isWritable()) {
    return fail(error, QStringLiteral("cannot export to '%1': folder '%2' does not exist or is "
                                      "not writable")
                           .arg(path, dir.absoluteFilePath()));
  }
  bool ok = false;
  if (ext == QLatin1String("png")) {
    ok = plot->savePng(path, width, height);
  } else if (ext == QLatin1String("svg")) {
    ok = saveSvg(plot, path, width, height);
  } else {
    ok = plot->savePdf(path, width, height, QCP::epAllowCosmetic, QStringLiteral("N-MAR Workbench"),
                       QFileInfo(path).completeBaseName());
  }
  if (!ok) {
    return fail(error, QStringLiteral("cannot export to '%1': writing the %2 file failed")
                           .arg(path, ext.toUpper()));
  }
  return true;
}

}  // namespace nmar::viz
