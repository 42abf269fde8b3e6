// RunStore: the read side (queries over the query_only connection).
#include <sqlite3.h>

#include <algorithm>

#include "store/run_store.h"
#include "store/sqlite_db.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

constexpr char kTagSeparator = '\x1f';  // unit separator: cannot occur in a tag

constexpr const char* kRunColumns =
    "SELECT id, name, kind, status, end_reason, config, code_revision, host, pid, started_ms, "
    "finished_ms, heartbeat_ms, parent_id, notes, "
    "(SELECT group_concat(tag, char(31)) FROM "
    "(SELECT tag FROM run_tags AS t WHERE t.run_id = runs.id ORDER BY tag)) FROM runs WHERE 1";

RunInfo readRun(const Statement& s, const std::string& store) {
  RunInfo r;
  r.id = s.columnInt(0);
  r.name = s.columnText(1);
  r.kind = s.columnText(2);
  r.status = parseRunStatus(s.columnText(3), store + ": run " + std::to_string(r.id));
  r.endReason = s.columnText(4);
  r.config = nlohmann::json::parse(s.columnText(5), nullptr, false);
  if (r.config.is_discarded()) r.config = nlohmann::json::object();
  r.codeRevision = s.columnText(6);
  r.host = s.columnText(7);
  r.pid = s.columnInt(8);
  r.startedMs = s.columnInt(9);
  r.finishedMs = s.columnOptInt(10);
  r.heartbeatMs = s.columnOptInt(11);
  r.parentId = s.columnOptInt(12);
  r.notes = s.columnText(13);
  const std::string tags = s.columnText(14);
  std::size_t begin = 0;
  while (!tags.empty() && begin <= tags.size()) {
    const std::size_t end = std::min(tags.find(kTagSeparator, begin), tags.size());
    r.tags.push_back(tags.substr(begin, end - begin));
    begin = end + 1;
  }
  return r;
}

/** Binds a JSON scalar the way json_extract() returns it (true/false are 1/0). */
void bindJsonScalar(Statement& s, int index, const nlohmann::json& v) {
  if (v.is_boolean())
    s.bind(index, static_cast<std::int64_t>(v.get<bool>()));
  else if (v.is_number_integer())
    s.bind(index, v.get<std::int64_t>());
  else if (v.is_number())
    s.bind(index, v.get<double>());
  else if (v.is_string())
    s.bind(index, v.get<std::string>());
  else
    s.bind(index, v.dump());
}

}  // namespace

std::vector<RunInfo> RunStore::queryRuns(const RunFilter& f, std::optional<std::int64_t> id) {
  // The SQL is assembled from fixed fragments only; every value is a bound parameter.
  std::string sql = kRunColumns;
  if (id) sql += " AND id = ?";
  if (f.kind) sql += " AND kind = ?";
  if (f.status) sql += " AND status = ?";
  if (f.tag)
    sql += " AND EXISTS (SELECT 1 FROM run_tags AS t WHERE t.run_id = runs.id AND t.tag = ?)";
  if (f.nameContains) sql += " AND instr(name, ?) > 0";
  for (const auto& [path, value] : f.configEquals)
    sql +=
        value.is_null() ? " AND json_type(config, ?) = 'null'" : " AND json_extract(config, ?) = ?";
  sql += " ORDER BY id";

  std::lock_guard<std::mutex> lock(m_readMutex);
  std::vector<RunInfo> runs;
  try {
    Statement s(*m_reader, sql);
    int i = 0;
    if (id) s.bind(++i, *id);
    if (f.kind) s.bind(++i, *f.kind);
    if (f.status) s.bind(++i, runStatusName(*f.status));
    if (f.tag) s.bind(++i, *f.tag);
    if (f.nameContains) s.bind(++i, *f.nameContains);
    for (const auto& [path, value] : f.configEquals) {
      s.bind(++i, path);
      if (!value.is_null()) bindJsonScalar(s, ++i, value);
    }
    while (s.step()) runs.push_back(readRun(s, m_path.string()));
  } catch (const SqliteError& e) {
    // The only user-supplied SQL-level input is a JSON path: say which one when it is bad.
    const std::string what = e.what();
    if (what.find("JSON path") != std::string::npos && !f.configEquals.empty()) {
      std::string paths;
      for (const auto& c : f.configEquals) paths += (paths.empty() ? "" : ", ") + c.first;
      throw Error(m_path.string() + ": bad config path in " + paths + ": " +
                  sqlite3_errmsg(m_reader->handle()));
    }
    throw;
  }
  return runs;
}

std::vector<RunInfo> RunStore::listRuns(const RunFilter& filter) {
  try {
    markDeadRuns();
  } catch (const Error& e) {  // listing must still work on a store that cannot be written now
    logger("core.store")->warn("{}", e.what());
  }
  return queryRuns(filter, std::nullopt);
}

std::optional<RunInfo> RunStore::findRun(std::int64_t runId) {
  std::vector<RunInfo> runs = queryRuns({}, runId);
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front());
}

RunInfo RunStore::getRun(std::int64_t runId) {
  std::optional<RunInfo> run = findRun(runId);
  if (!run) throw Error(m_path.string() + ": no run with id " + std::to_string(runId));
  return std::move(*run);
}

std::vector<std::string> RunStore::metricKeys(std::int64_t runId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader,
              "SELECT k.key FROM metric_keys AS k WHERE EXISTS "
              "(SELECT 1 FROM metrics AS m WHERE m.run_id = ? AND m.key_id = k.id) ORDER BY k.key");
  s.bind(1, runId);
  std::vector<std::string> keys;
  while (s.step()) keys.push_back(s.columnText(0));
  return keys;
}

std::vector<MetricSummary> RunStore::metricSummaries(std::int64_t runId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement keys(*m_reader,
                 "SELECT k.id, k.key FROM metric_keys AS k WHERE EXISTS "
                 "(SELECT 1 FROM metrics AS m WHERE m.run_id = ? AND m.key_id = k.id) "
                 "ORDER BY k.key");
  Statement count(*m_reader, "SELECT count(*) FROM metrics WHERE run_id = ? AND key_id = ?");
  Statement last(*m_reader,
                 "SELECT step, value, wall_ms FROM metrics WHERE run_id = ? AND key_id = ? "
                 "ORDER BY step DESC LIMIT 1");
  keys.bind(1, runId);
  std::vector<MetricSummary> out;
  while (keys.step()) {
    MetricSummary m;
    m.key = keys.columnText(1);
    count.bind(1, runId).bind(2, keys.columnInt(0));
    if (count.step()) m.count = count.columnInt(0);
    count.reset();
    last.bind(1, runId).bind(2, keys.columnInt(0));
    if (last.step()) m.last = {last.columnInt(0), last.columnDouble(1), last.columnInt(2)};
    last.reset();
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MetricSeries> RunStore::metricSeries(const std::vector<std::int64_t>& runIds,
                                                 const std::vector<std::string>& keys,
                                                 std::int64_t afterStep) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader,
              "SELECT m.step, m.value, m.wall_ms FROM metrics AS m "
              "WHERE m.run_id = ? AND m.key_id = (SELECT id FROM metric_keys WHERE key = ?) "
              "AND m.step > ? ORDER BY m.step");
  std::vector<MetricSeries> out;
  for (std::int64_t run : runIds)
    for (const std::string& key : keys) {
      MetricSeries series{run, key, {}};
      s.bind(1, run).bind(2, key).bind(3, afterStep);
      while (s.step()) series.points.push_back({s.columnInt(0), s.columnDouble(1), s.columnInt(2)});
      s.reset();
      out.push_back(std::move(series));
    }
  return out;
}

namespace {

TraceRecord readTraceRecord(const Statement& s, bool withJson, const std::string& store) {
  TraceRecord r;
  r.id = s.columnInt(0);
  r.runId = s.columnInt(1);
  r.step = s.columnInt(2);
  r.group = s.columnOptInt(3);
  r.prompt = s.columnText(4);
  r.output = s.columnText(5);
  if (!s.columnIsNull(6)) r.verdict = nlohmann::json::parse(s.columnText(6), nullptr, false);
  if (r.verdict.is_discarded()) r.verdict = nullptr;
  if (withJson) {
    r.trace = nlohmann::json::parse(s.columnText(7), nullptr, false);
    if (r.trace.is_discarded())
      throw Error(store + ": trace " + std::to_string(r.id) + ": the stored JSON is invalid");
  }
  return r;
}

}  // namespace

std::vector<TraceRecord> RunStore::traces(std::int64_t runId, std::optional<std::int64_t> step,
                                          bool withJson) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  std::string sql = "SELECT id, run_id, step, group_index, prompt, output, verdict";
  sql += withJson ? ", trace" : "";
  sql += " FROM traces WHERE run_id = ?";
  sql += step ? " AND step = ?" : "";
  sql += " ORDER BY step, id";
  Statement s(*m_reader, sql);
  s.bind(1, runId);
  if (step) s.bind(2, *step);
  std::vector<TraceRecord> out;
  while (s.step()) out.push_back(readTraceRecord(s, withJson, m_path.string()));
  return out;
}

std::int64_t RunStore::traceCount(std::int64_t runId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader, "SELECT count(*) FROM traces WHERE run_id = ?");
  s.bind(1, runId);
  return s.step() ? s.columnInt(0) : 0;
}

TraceRecord RunStore::traceRecord(std::int64_t traceId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader,
              "SELECT id, run_id, step, group_index, prompt, output, verdict, trace "
              "FROM traces WHERE id = ?");
  s.bind(1, traceId);
  if (!s.step()) throw Error(m_path.string() + ": no trace with id " + std::to_string(traceId));
  return readTraceRecord(s, true, m_path.string());
}

Trace RunStore::trace(std::int64_t traceId) {
  const TraceRecord r = traceRecord(traceId);
  return traceFromJson(r.trace, m_path.string() + ": trace " + std::to_string(traceId));
}

std::vector<TokenScore> RunStore::tokenScores(std::int64_t traceId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader,
              "SELECT position, token, reward, advantage, logprob, ratio FROM token_scores "
              "WHERE trace_id = ? ORDER BY position");
  s.bind(1, traceId);
  std::vector<TokenScore> out;
  while (s.step())
    out.push_back({static_cast<int>(s.columnInt(0)), s.columnInt(1), s.columnOptDouble(2),
                   s.columnOptDouble(3), s.columnOptDouble(4), s.columnOptDouble(5)});
  return out;
}

std::vector<Artifact> RunStore::artifacts(std::int64_t runId) {
  std::lock_guard<std::mutex> lock(m_readMutex);
  Statement s(*m_reader,
              "SELECT id, run_id, kind, path, sha256, bytes, created_ms FROM artifacts "
              "WHERE run_id = ? ORDER BY id");
  s.bind(1, runId);
  std::vector<Artifact> out;
  while (s.step())
    out.push_back({s.columnInt(0), s.columnInt(1), s.columnText(2), s.columnText(3),
                   s.columnText(4), s.columnInt(5), s.columnInt(6)});
  return out;
}

}  // namespace nmar::core
