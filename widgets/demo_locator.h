#pragma once
/** @file Where the bundled demo model (and demo trace) are looked for. */
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

/** The demo trace (<demo>/traces/addition.json), or empty. */
QString findDemoTrace();

}  // namespace nmar::widgets
