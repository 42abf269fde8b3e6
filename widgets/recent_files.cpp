#include "widgets/recent_files.h"

#include <QSettings>

namespace nmar::widgets {
namespace {

const char* const kGroup = "recentFiles";

void store(const QList<OpenRequest>& entries) {
  QSettings settings;
  settings.remove(QLatin1String(kGroup));
  settings.beginWriteArray(QLatin1String(kGroup), int(entries.size()));
  for (int i = 0; i < entries.size(); ++i) {
    settings.setArrayIndex(i);
    settings.setValue(QStringLiteral("kind"), openKindKey(entries[i].kind));
    settings.setValue(QStringLiteral("path"), entries[i].path);
  }
  settings.endArray();
}

}  // namespace

QList<OpenRequest> recentFiles() {
  QSettings settings;
  QList<OpenRequest> entries;
  const int size = settings.beginReadArray(QLatin1String(kGroup));
  for (int i = 0; i < size && entries.size() < kMaxRecentFiles; ++i) {
    settings.setArrayIndex(i);
    const auto kind = openKindFromKey(settings.value(QStringLiteral("kind")).toString());
    const QString path = settings.value(QStringLiteral("path")).toString();
    if (kind && !path.isEmpty()) entries.append(OpenRequest{*kind, path});
  }
  settings.endArray();
  return entries;
}

QList<OpenRequest> addRecentFile(const OpenRequest& request) {
  QList<OpenRequest> entries = recentFiles();
  entries.removeIf([&](const OpenRequest& e) { return e.path == request.path; });
  entries.prepend(request);
  while (entries.size() > kMaxRecentFiles) entries.removeLast();
  store(entries);
  return entries;
}

QList<OpenRequest> removeRecentFile(const QString& path) {
  QList<OpenRequest> entries = recentFiles();
  entries.removeIf([&](const OpenRequest& e) { return e.path == path; });
  store(entries);
  return entries;
}

void clearRecentFiles() { store({}); }

}  // namespace nmar::widgets
