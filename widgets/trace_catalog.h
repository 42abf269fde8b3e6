#pragma once
/**
 * @file The traces a file offers for replay: every trace of a run store (with its run, step,
 * prompt, output and verdict) or every line of a JSONL trace file. Torch-free and Qt-light: the
 * listing and loading functions run on any thread (the GUI calls them through QtConcurrent).
 */
#include <optional>

#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include "trace/trace.h"

namespace nmar::core {
class Tokenizer;
}

namespace nmar::widgets {

/** One trace on offer. */
struct TraceEntry {
  qint64 traceId = -1;  ///< run store: the trace's id; -1 for a JSONL line
  int line = -1;        ///< JSONL: 0-based index of the trace in the file; -1 for a store
  qint64 runId = 0;
  QString runName;
  QString runKind;
  qint64 step = 0;
  qint64 group = -1;  ///< GRPO group, -1: none
  QString prompt;
  QString output;
  QString verdict;  ///< "ok", "wrong" or the verdict's detail; empty: none
};

/** What a file offers. */
struct TraceCatalog {
  QString path;
  bool fromStore = false;
  QList<TraceEntry> entries;
};

/**
 * Lists every trace of the run store at @p path (opened read-only, never created), run by run
 * then by step; only run @p runId's when given. Throws core::Error naming the path (not a run
 * store, missing, newer schema) or the missing run.
 */
TraceCatalog listStoreTraces(const QString& path, std::optional<qint64> runId = std::nullopt);

/** Lists the traces of the JSONL trace file @p path; throws core::Error naming the line. */
TraceCatalog listFileTraces(const QString& path);

/** Loads @p entry of @p catalog (validated). Throws core::Error naming the file and trace. */
core::Trace loadCatalogTrace(const TraceCatalog& catalog, const TraceEntry& entry);

/**
 * The text of every token id of the tokenizer @p trace was decoded with, for showing a replayed
 * trace's prompt without loading its model. The trace's `model` field names a checkpoint folder,
 * usually relative to where the decode ran: it is tried as given, then as a sibling of the folder
 * holding the trace file @p tracePath (a demo's traces/ beside its model folders), then inside
 * that folder. Empty when none of these holds a tokenizer; @p why (when given) then says what was
 * tried. Runs on any thread. The texts are kept per folder (up to 8 folders) while the folder's
 * tokenizer files keep their modification times, so replaying trace after trace of one model reads
 * its tokenizer once.
 */
QStringList traceVocabulary(const core::Trace& trace, const QString& tracePath,
                            QString* why = nullptr);

/** The display text of every token id of @p tokenizer, by id. */
QStringList vocabularyTexts(const core::Tokenizer& tokenizer);

/** A one-line description of @p entry for logs and the status bar. */
QString describeEntry(const TraceCatalog& catalog, const TraceEntry& entry);

}  // namespace nmar::widgets

Q_DECLARE_METATYPE(nmar::widgets::TraceCatalog)
Q_DECLARE_METATYPE(nmar::widgets::TraceEntry)
