// RunStore: queued logging (metrics, traces, artifacts) and flushing.
#include "store/run_store.h"
#include "store/sha256.h"
#include "store/sqlite_db.h"
#include "util/error.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

/** JSON text that never throws on invalid UTF-8 (replaced by U+FFFD). */
std::string dumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void RunStore::logMetric(std::int64_t runId, std::int64_t step, std::string_view key,
                         double value) {
  const MetricValue v{key, value};
  writer().logMetrics(runId, step, &v, 1);
}

void RunStore::logMetrics(std::int64_t runId, std::int64_t step,
                          std::initializer_list<MetricValue> values) {
  writer().logMetrics(runId, step, values.begin(), values.size());
}

void RunStore::logMetrics(std::int64_t runId, std::int64_t step,
                          const std::vector<MetricValue>& values) {
  writer().logMetrics(runId, step, values.data(), values.size());
}

namespace {

/** Inserts a trace row and its scores; the run must exist. */
void insertTrace(SqliteDb& db, const TraceRecord& r, const std::string& traceJson,
                 const std::vector<TokenScore>& scores) {
  Statement s(db,
              "INSERT INTO traces (run_id, step, group_index, prompt, output, verdict, trace) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, r.runId).bind(2, r.step).bind(3, r.group).bind(4, r.prompt).bind(5, r.output);
  if (r.verdict.is_null())
    s.bindNull(6);
  else
    s.bind(6, dumpJson(r.verdict));
  s.bind(7, traceJson).run();
  const std::int64_t traceId = db.lastInsertId();
  Statement t(db,
              "INSERT INTO token_scores (trace_id, position, token, reward, advantage, logprob, "
              "ratio) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const TokenScore& sc : scores) {
    t.bind(1, traceId).bind(2, sc.position).bind(3, sc.token);
    t.bind(4, sc.reward).bind(5, sc.advantage).bind(6, sc.logprob).bind(7, sc.ratio).run();
  }
}

}  // namespace

void RunStore::addTrace(std::int64_t runId, std::int64_t step, Trace trace,
                        std::optional<std::int64_t> group, std::vector<TokenScore> scores) {
  const std::size_t weight = 1 + scores.size();
  writer().enqueue(
      [this, runId, step, group, trace = std::move(trace),
       scores = std::move(scores)](SqliteDb& db) {
        requireRun(db, runId);
        TraceRecord r;
        r.runId = runId;
        r.step = step;
        r.group = group;
        r.prompt = trace.promptText;
        r.output = trace.outputText;
        r.verdict = trace.verdict;
        insertTrace(db, r, dumpJson(toJson(trace)), scores);
      },
      weight);
}

void RunStore::addTrace(TraceRecord record, std::vector<TokenScore> scores) {
  if (!record.trace.is_object())
    throw Error(m_path.string() + ": trace record of run " + std::to_string(record.runId) +
                ": the trace must be a JSON object (nmar-trace/1)");
  const std::size_t weight = 1 + scores.size();
  writer().enqueue(
      [this, record = std::move(record), scores = std::move(scores)](SqliteDb& db) {
        requireRun(db, record.runId);
        insertTrace(db, record, dumpJson(record.trace), scores);
      },
      weight);
}

void RunStore::addArtifact(std::int64_t runId, const std::string& kind, const fs::path& file) {
  if (kind.empty())
    throw Error(m_path.string() + ": artifact of run " + std::to_string(runId) + ": empty kind");
  StoreWriter& w = writer();
  const FileDigest digest = sha256File(file);
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  const std::string path = (ec ? file : absolute.lexically_normal()).string();
  const std::int64_t now = unixMillisNow();
  w.enqueue([this, runId, kind, path, digest, now](SqliteDb& db) {
    requireRun(db, runId);
    Statement(db,
              "INSERT INTO artifacts (run_id, kind, path, sha256, bytes, created_ms) "
              "VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, runId)
        .bind(2, kind)
        .bind(3, path)
        .bind(4, digest.sha256)
        .bind(5, digest.bytes)
        .bind(6, now)
        .run();
  });
}

void RunStore::flush() { writer().flush(); }

WriterStats RunStore::writerStats() const { return m_writer ? m_writer->stats() : WriterStats{}; }

}  // namespace nmar::core
