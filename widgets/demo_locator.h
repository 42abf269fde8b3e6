#pragma once
/** @file Where the bundled demo model (and demo trace) are looked for. */
#include <QList>
#include <QString>
#include <QStringList>

namespace nmar::widgets {

/**
 * The folders searched for the demo, in order: $NMAR_DEMO_DIR, the source tree's
 * resources/demo (compile definition NMAR_DEMO_SOURCE_DIR, for builds run in place), and
 * <executable>/../share/nmar-workbench/demo (installed). Non-existent entries are kept, so a
 * message can name every place that was searched.
 */
QStringList demoSearchPaths();

/**
 * The demo model folder (<demo>/addition holding a config.json), or empty when none of
 * demoSearchPaths() has one.
 */
QString findDemoModel();

/** The demo trace (traces/addition.json beside the folder findDemoModel() found), or empty. */
QString findDemoTrace();

/** One bundled demo: a model folder and, when it exists, the trace recorded with it. */
struct Demo {
  QString name;   ///< its folder under the demo directory: "addition", "prose"
  QString title;  ///< for menus: "Addition (3-digit sums)"
  QString model;  ///< absolute path of the model folder (holds config.json)
  QString trace;  ///< absolute path of <demo>/traces/<name>.json, or empty when there is none
};

/**
 * The bundled demos that exist, in menu order (addition, then prose). For each one the first
 * folder of demoSearchPaths() that holds <name>/config.json wins; its trace is looked for beside
 * it (<that folder>/traces/<name>.json), so a model and its trace always come from one place.
 */
QList<Demo> findDemos();

}  // namespace nmar::widgets
