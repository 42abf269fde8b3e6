#pragma once
/** @file Any table the workbench shows, written as CSV. */
#include <QString>

class QAbstractItemModel;

namespace nmar::widgets {

/**
 * Writes the rows of @p model as shown (a proxy's filtered and sorted rows) to @p path as CSV
 * (RFC 4180: a header of the column titles, fields quoted when they hold a comma, quote or line
 * break), atomically. Returns false with a message naming the file when the extension is not
 * .csv or writing fails. GUI thread (it reads the model).
 */
bool exportTableCsv(const QAbstractItemModel* model, const QString& path, QString* error = nullptr);

/** One CSV field, quoted when needed. */
QString csvField(const QString& text);

}  // namespace nmar::widgets
