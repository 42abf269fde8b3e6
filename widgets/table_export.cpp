#include "widgets/table_export.h"

#include <QAbstractItemModel>
#include <QFileInfo>
#include <QSaveFile>

namespace nmar::widgets {

QString csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
      !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
    return text;
  QString quoted = text;
  quoted.replace(QLatin1Char('"'), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

bool exportTableCsv(const QAbstractItemModel* model, const QString& path, QString* error) {
  auto fail = [&](const QString& message) {
    if (error) *error = message;
    return false;
  };
  if (QFileInfo(path).suffix().toLower() != QLatin1String("csv"))
    return fail(QStringLiteral("cannot export to '%1': expected a .csv file").arg(path));
  if (!model) return fail(QStringLiteral("cannot export to '%1': there is no table").arg(path));
  QString text;
  QStringList header;
  for (int c = 0; c < model->columnCount(); ++c)
    header << csvField(model->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
  text += header.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (int r = 0; r < model->rowCount(); ++r) {
    QStringList row;
    for (int c = 0; c < model->columnCount(); ++c)
      row << csvField(model->data(model->index(r, c), Qt::DisplayRole).toString());
    text += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(text.toUtf8()) < 0 || !file.commit())
    return fail(QStringLiteral("cannot export to '%1': %2").arg(path, file.errorString()));
  return true;
}

}  // namespace nmar::widgets
