#include "widgets/trace_catalog.h"

#include <mutex>

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHash>

#include "store/run_store.h"
#include "tokenizer/tokenizer.h"
#include "trace/trace_io.h"
#include "util/error.h"

namespace nmar::widgets {
namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

/** "ok" / "wrong: <detail>" / the JSON, from a stored verdict (null: empty). */
QString verdictText(const nlohmann::json& v) {
  if (v.is_null()) return {};
  if (v.is_object() && v.contains("correct") && v["correct"].is_boolean()) {
    const bool ok = v["correct"].get<bool>();
    const std::string detail = v.value("detail", std::string());
    if (ok) return QStringLiteral("ok");
    return detail.empty() ? QStringLiteral("wrong") : QStringLiteral("wrong: ") + qs(detail);
  }
  return qs(v.dump());
}

}  // namespace

TraceCatalog listStoreTraces(const QString& path, std::optional<qint64> runId) {
  core::StoreOptions options;
  options.readOnly = true;
  options.create = false;
  core::RunStore store(path.toStdString(), options);
  TraceCatalog catalog;
  catalog.path = path;
  catalog.fromStore = true;
  const std::vector<core::RunInfo> runs =
      runId ? std::vector<core::RunInfo>{store.getRun(*runId)} : store.listRuns();
  for (const core::RunInfo& run : runs) {
    for (const core::TraceRecord& r : store.traces(run.id)) {
      TraceEntry e;
      e.traceId = r.id;
      e.runId = run.id;
      e.runName = qs(run.name);
      e.runKind = qs(run.kind);
      e.step = r.step;
      e.group = r.group ? *r.group : -1;
      e.prompt = qs(r.prompt);
      e.output = qs(r.output);
      e.verdict = verdictText(r.verdict);
      catalog.entries.push_back(e);
    }
  }
  return catalog;
}

TraceCatalog listFileTraces(const QString& path) {
  TraceCatalog catalog;
  catalog.path = path;
  const std::vector<core::Trace> traces = core::readTraces(path.toStdString());
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const core::Trace& t = traces[i];
    TraceEntry e;
    e.line = static_cast<int>(i);
    e.runName = QFileInfo(path).fileName();
    e.runKind = qs(core::traceModeName(t.mode));
    e.prompt = qs(t.promptText);
    e.output = qs(t.outputText);
    e.verdict = verdictText(t.verdict);
    catalog.entries.push_back(e);
  }
  return catalog;
}

core::Trace loadCatalogTrace(const TraceCatalog& catalog, const TraceEntry& entry) {
  if (catalog.fromStore) {
    core::StoreOptions options;
    options.readOnly = true;
    options.create = false;
    core::RunStore store(catalog.path.toStdString(), options);
    return store.trace(entry.traceId);
  }
  std::vector<core::Trace> traces = core::readTraces(catalog.path.toStdString());
  if (entry.line < 0 || entry.line >= static_cast<int>(traces.size())) {
    throw core::Error(catalog.path.toStdString() + ": no trace " + std::to_string(entry.line + 1) +
                      " (the file holds " + std::to_string(traces.size()) + ")");
  }
  return std::move(traces[static_cast<std::size_t>(entry.line)]);
}

QString describeEntry(const TraceCatalog& catalog, const TraceEntry& entry) {
  if (catalog.fromStore) {
    return QStringLiteral("%1: run %2 (%3), step %4, trace %5")
        .arg(QFileInfo(catalog.path).fileName())
        .arg(entry.runId)
        .arg(entry.runName)
        .arg(entry.step)
        .arg(entry.traceId);
  }
  return QStringLiteral("%1: trace %2 of %3")
      .arg(QFileInfo(catalog.path).fileName())
      .arg(entry.line + 1)
      .arg(catalog.entries.size());
}

QStringList vocabularyTexts(const core::Tokenizer& tokenizer) {
  QStringList texts;
  texts.reserve(tokenizer.vocabSize());
  for (int id = 0; id < tokenizer.vocabSize(); ++id) texts << qs(tokenizer.tokenText(id));
  return texts;
}

namespace {

/** The tokenizer files' modification times in @p dir: a change means the texts must be read again. */
QString tokenizerStamp(const QDir& dir) {
  QString stamp;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                           "tokenizer.model", "config.json"}) {
    const QFileInfo f(dir.filePath(QString::fromLatin1(name)));
    if (f.exists())
      stamp += QString::fromLatin1(name) + QLatin1Char('@') +
               QString::number(f.lastModified().toMSecsSinceEpoch()) + QLatin1Char(';');
  }
  return stamp;
}

struct VocabularyCache {
  struct Entry {
    QString stamp;
    QStringList texts;
  };
  std::mutex mutex;
  QHash<QString, Entry> entries;  // by absolute folder
};

VocabularyCache& vocabularyCache() {
  static VocabularyCache cache;
  return cache;
}

QStringList cachedVocabulary(const QString& folder) {
  const QString stamp = tokenizerStamp(QDir(folder));
  VocabularyCache& cache = vocabularyCache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    const auto it = cache.entries.constFind(folder);
    if (it != cache.entries.constEnd() && it->stamp == stamp) return it->texts;
  }
  const QStringList texts = vocabularyTexts(*core::loadTokenizer(folder.toStdString()));
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (cache.entries.size() >= 8) cache.entries.clear();  // a few models at a time is the use
  cache.entries.insert(folder, VocabularyCache::Entry{stamp, texts});
  return texts;
}

}  // namespace

QStringList traceVocabulary(const core::Trace& trace, const QString& tracePath, QString* why) {
  const QString model = qs(trace.model);
  QStringList candidates;
  if (!model.isEmpty()) {
    candidates << model;
    if (!tracePath.isEmpty()) {
      const QDir traceDir = QFileInfo(tracePath).absoluteDir();
      const QString name = QFileInfo(QDir::cleanPath(model)).fileName();
      candidates << traceDir.absoluteFilePath(QStringLiteral("../") + name)
                 << traceDir.absoluteFilePath(name);
    }
  }
  QStringList tried;
  for (const QString& dir : candidates) {
    const QFileInfo info(dir);
    if (!info.isDir()) {
      tried << dir;
      continue;
    }
    try {
      return cachedVocabulary(info.absoluteFilePath());
    } catch (const std::exception& e) {
      tried << dir + QStringLiteral(" (") + qs(e.what()) + QStringLiteral(")");
    }
  }
  if (why != nullptr)
    *why = model.isEmpty() ? QStringLiteral("the trace names no model")
                           : QStringLiteral("no tokenizer for model '%1' (tried %2)")
                                 .arg(model, tried.join(QStringLiteral(", ")));
  return {};
}

}  // namespace nmar::widgets
