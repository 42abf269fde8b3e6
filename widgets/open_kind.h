#pragma once
/** @file What the user can open (checkpoint folder, trace, run store) and how a path is recognised.
 */
#include <optional>

#include <QMetaType>
#include <QString>

namespace nmar::widgets {

/** The kinds of thing the workbench opens. */
enum class OpenKind { Checkpoint, Trace, RunStore };

/** A request to open @p path as @p kind. */
struct OpenRequest {
  OpenKind kind = OpenKind::Checkpoint;
  QString path;
};

/** Human-readable name: "checkpoint", "trace", "run store". */
QString openKindName(OpenKind kind);
/** Stable key for settings: "checkpoint", "trace", "store". */
QString openKindKey(OpenKind kind);
/** Inverse of openKindKey(); nullopt for an unknown key. */
std::optional<OpenKind> openKindFromKey(const QString& key);

/**
 * Recognises @p path (a dropped file, a command-line argument): a folder, a `*.safetensors` file or
 * a Hugging Face file such as `config.json`/`tokenizer.json` is a checkpoint (the request names
 * its folder); another `*.json`/`*.jsonl` is a trace; `*.sqlite`, `*.sqlite3`, `*.db` is a run
 * store. The request carries the absolute path. Returns nullopt, with a message in @p error naming
 * the path and what was expected, when the path does not exist or is none of these.
 */
std::optional<OpenRequest> classifyPath(const QString& path, QString* error = nullptr);

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::OpenKind)
