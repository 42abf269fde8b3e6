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

namespace {
Demo findDemo(const QString& name) {
  for (const Demo& demo : findDemos())
    if (demo.name == name) return demo;
  return {};
}
}  // namespace

QString findDemoModel() { return findDemo(QStringLiteral("addition")).model; }

QString findDemoTrace() { return findDemo(QStringLiteral("addition")).trace; }

QList<Demo> findDemos() {
  struct Known {
    const char* name;
    const char* title;
  };
  static const Known known[] = {
      {"addition", QT_TRANSLATE_NOOP("nmar::widgets::Demo", "Addition (3-digit sums)")},
      {"prose", QT_TRANSLATE_NOOP("nmar::widgets::Demo", "Prose (King James Bible)")},
  };
  const QStringList search = demoSearchPaths();
  QList<Demo> demos;
  for (const Known& k : known) {
    const QString name = QString::fromLatin1(k.name);
    for (const QString& dir : search) {
      const QDir root(dir);
      const QString model = root.absoluteFilePath(name);
      if (!QFileInfo::exists(model + QStringLiteral("/config.json"))) continue;
      QString trace = root.absoluteFilePath(QStringLiteral("traces/%1.json").arg(name));
      if (!QFileInfo::exists(trace)) trace.clear();
      demos.append(Demo{name, QCoreApplication::translate("nmar::widgets::Demo", k.title),
                        model, trace});
      break;
    }
  }
  return demos;
}

}  // namespace nmar::widgets
