#include "widgets/open_kind.h"

#include <QFileInfo>
#include <QStringList>

namespace nmar::widgets {
namespace {

// Files that live in a Hugging Face checkpoint folder; opening one opens the folder.
const QStringList& checkpointFileNames() {
  static const QStringList names = {QStringLiteral("config.json"),
                                    QStringLiteral("generation_config.json"),
                                    QStringLiteral("tokenizer.json"),
                                    QStringLiteral("tokenizer_config.json"),
                                    QStringLiteral("special_tokens_map.json"),
                                    QStringLiteral("vocab.json"),
                                    QStringLiteral("merges.txt"),
                                    QStringLiteral("model.safetensors.index.json")};
  return names;
}

}  // namespace

QString openKindName(OpenKind kind) {
  switch (kind) {
    case OpenKind::Checkpoint:
      return QStringLiteral("checkpoint");
    case OpenKind::Trace:
      return QStringLiteral("trace");
    case OpenKind::RunStore:
      return QStringLiteral("run store");
  }
  return {};
}

QString openKindKey(OpenKind kind) {
  return kind == OpenKind::RunStore ? QStringLiteral("store") : openKindName(kind);
}

std::optional<OpenKind> openKindFromKey(const QString& key) {
  for (OpenKind kind : {OpenKind::Checkpoint, OpenKind::Trace, OpenKind::RunStore}) {
    if (openKindKey(kind) == key) return kind;
  }
  return std::nullopt;
}

std::optional<OpenRequest> classifyPath(const QString& path, QString* error) {
  const QFileInfo info(path);
  if (path.isEmpty() || !info.exists()) {
    if (error) *error = QStringLiteral("cannot open '%1': it does not exist").arg(path);
    return std::nullopt;
  }
  if (info.isDir()) return OpenRequest{OpenKind::Checkpoint, info.absoluteFilePath()};
  const QString name = info.fileName();
  const QString suffix = info.suffix().toLower();
  if (suffix == QLatin1String("safetensors") || checkpointFileNames().contains(name)) {
    return OpenRequest{OpenKind::Checkpoint, info.absolutePath()};
  }
  if (suffix == QLatin1String("json") || suffix == QLatin1String("jsonl")) {
    return OpenRequest{OpenKind::Trace, info.absoluteFilePath()};
  }
  if (suffix == QLatin1String("sqlite") || suffix == QLatin1String("sqlite3") ||
      suffix == QLatin1String("db")) {
    return OpenRequest{OpenKind::RunStore, info.absoluteFilePath()};
  }
  if (error) {
    *error = QStringLiteral(
                 "cannot open '%1': expected a checkpoint folder (or a file in one, "
                 "such as config.json or *.safetensors), a trace (*.json, *.jsonl) "
                 "or a run store (*.sqlite, *.sqlite3, *.db)")
                 .arg(path);
  }
  return std::nullopt;
}

}  // namespace nmar::widgets
