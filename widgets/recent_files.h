#pragma once
/** @file The recent-files list, kept in QSettings (most recent first, at most kMaxRecentFiles). */
#include <QList>

#include "widgets/open_kind.h"

namespace nmar::widgets {

/** How many recent files are remembered. */
inline constexpr int kMaxRecentFiles = 10;

/** The remembered files, most recent first. Reads QSettings of the current application. */
QList<OpenRequest> recentFiles();

/**
 * Puts @p request first (removing an older entry with the same path) and trims the list to
 * kMaxRecentFiles. Returns the new list. GUI thread (QSettings of the application).
 */
QList<OpenRequest> addRecentFile(const OpenRequest& request);

/** Removes the entry for @p path, if any; returns the new list. */
QList<OpenRequest> removeRecentFile(const QString& path);

/** Forgets every recent file. */
void clearRecentFiles();

}  // namespace nmar::widgets
