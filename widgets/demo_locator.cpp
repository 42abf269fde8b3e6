#include "widgets/demo_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace nmar::widgets {

QStringList demoSearchPaths() {
  QStringList paths;
  const QString env = qEnvironmentVariable("NMAR_DEMO_DIR");
  if (!env.isEmpty()) paths << env;
#ifdef NMAR_DEMO_SOURCE_DIR
  paths << QStringLiteral(NMAR_DEMO_SOURCE_DIR);
#endif
  if (QCoreApplication::instance() != nullptr)
    paths << QDir(QCoreApplication::applicationDirPath())
                 .absoluteFilePath(QStringLiteral("../share/nmar-workbench/demo"));
  for (QString& p : paths) p = QDir::cleanPath(p);
  return paths;
}

QString findDemoModel() {
  for (const QString& dir : demoSearchPaths()) {
    const QString model = QDir(dir).absoluteFilePath(QStringLiteral("addition"));
    if (QFileInfo::exists(model + QStringLiteral("/config.json"))) return model;
  }
  return {};
}

QString findDemoTrace() {
  for (const QString& dir : demoSearchPaths()) {
    const QString trace = QDir(dir).absoluteFilePath(QStringLiteral("traces/addition.json"));
    if (QFileInfo::exists(trace)) return trace;
  }
  return {};
}

}  // namespace nmar::widgets
