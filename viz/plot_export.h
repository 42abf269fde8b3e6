#pragma once
/** @file Export of any QCustomPlot to PNG, SVG or PDF, chosen by the file extension. */
#include <QSize>
#include <QString>

class QCustomPlot;
class QWidget;

namespace nmar::viz {

/**
 * Writes @p plot to @p path as PNG, SVG or PDF according to the (case-insensitive) extension.
 * @p width and @p height are in pixels (points for PDF); 0 keeps the plot's on-screen size, or
 * 800 × 600 when the plot is not visible. Returns false with a message in @p error
 * (naming the path and what was expected) for an unknown extension or when writing fails.
 * GUI thread only.
 */
bool exportPlot(QCustomPlot* plot, const QString& path, QString* error = nullptr, int width = 0,
                int height = 0);

/**
 * Writes what @p widget paints (a custom-painted view, e.g. the per-token reward strips) to
 * @p path as PNG, SVG or PDF by extension, at the widget's size. Same errors as exportPlot().
 * GUI thread only.
 */
bool exportWidget(QWidget* widget, const QString& path, QString* error = nullptr);

/** The size exportPlot() uses for @p width × @p height (0 = the plot's size, see there). */
QSize exportSize(const QCustomPlot* plot, int width = 0, int height = 0);

/** The extensions exportPlot() understands, lower case without the dot: png, svg, pdf. */
QStringList exportFormats();

/** Version string of the QCustomPlot library the views are built with, e.g. "2.1.0". */
QString qcustomplotVersion();

}  // namespace nmar::viz
