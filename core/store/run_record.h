#pragma once
/**
 * @file The values the run store reads and writes: runs, filters, metric points and series,
 * stored traces, per-token scores and artifacts. Plain data; no SQLite here.
 */
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/**
 * Where a run stands. A run whose process died (or that stopped sending heartbeats) is marked
 * kFailed with the end reason "process died" (see RunStore); there is no separate "crashed".
 */
enum class RunStatus { kRunning, kFinished, kFailed, kCancelled };

/** "running", "finished", "failed", "cancelled". */
std::string runStatusName(RunStatus status);

/** Parses a status name; throws Error "<what>: unknown run status 'x' (expected ...)". */
RunStatus parseRunStatus(const std::string& name, const std::string& what);

/**
 * Checks a run kind ("sft", "grpo", "eval", "decode", "init", ...): 1 to 32 characters of
 * [a-z0-9_-]. Throws Error "<what>: invalid run kind 'x' (...)".
 */
void validateRunKind(const std::string& kind, const std::string& what);

/** What createRun() needs; everything else (host, pid, revision, times) is filled in. */
struct NewRun {
  std::string name;                                  ///< free text, shown in lists
  std::string kind;                                  ///< see validateRunKind()
  nlohmann::json config = nlohmann::json::object();  ///< the run's configuration (null: {})
  std::optional<std::int64_t> parentId;              ///< the run this one resumes or forks
  std::vector<std::string> tags;
  std::string notes;
};

/** A run as stored. */
struct RunInfo {
  std::int64_t id = 0;
  std::string name;
  std::string kind;
  RunStatus status = RunStatus::kRunning;
  std::string endReason;  ///< why it failed or was cancelled ("process died", an error); or empty
  nlohmann::json config = nlohmann::json::object();
  std::string codeRevision;  ///< git revision of the nmar build that ran it
  std::string host;
  std::int64_t pid = 0;
  std::int64_t startedMs = 0;               ///< unix time in milliseconds
  std::optional<std::int64_t> finishedMs;   ///< unix ms; empty while running
  std::optional<std::int64_t> heartbeatMs;  ///< last sign of life from the writing process
  std::optional<std::int64_t> parentId;
  std::vector<std::string> tags;  ///< sorted
  std::string notes;
};

/** The run as a JSON object (snake_case keys; times in unix ms; null for empty optionals). */
nlohmann::json toJson(const RunInfo& run);

/** Which runs listRuns() returns; empty members do not filter. All members must match. */
struct RunFilter {
  std::optional<std::string> kind;
  std::optional<RunStatus> status;
  std::optional<std::string> tag;
  std::optional<std::string> nameContains;  ///< substring, case-sensitive
  /**
   * Config conditions: json_extract(config, path) = value. The path is a SQLite JSON path
   * ("$.sampler.temperature"); the value a JSON scalar (a string, number, bool or null).
   */
  std::vector<std::pair<std::string, nlohmann::json>> configEquals;
};

/**
 * Parses "key=value" into a config condition: key "a.b" becomes the path "$.a.b" (a key that
 * starts with "$" is used as is); value is read as JSON when it is a JSON scalar (3, 0.5, true,
 * null, "x") and as a plain string otherwise. Throws Error "<what>: expected key=value, got '...'".
 */
std::pair<std::string, nlohmann::json> parseConfigCondition(const std::string& text,
                                                            const std::string& what);

/** One value of a metric. */
struct MetricPoint {
  std::int64_t step = 0;
  double value = 0.0;  ///< NaN is stored as NULL and reads back as NaN
  std::int64_t wallMs = 0;
};

/** A metric's values in one run, by increasing step. */
struct MetricSeries {
  std::int64_t runId = 0;
  std::string key;
  std::vector<MetricPoint> points;
};

/** A metric key of a run with how many values it has and its last (highest-step) value. */
struct MetricSummary {
  std::string key;
  std::int64_t count = 0;
  MetricPoint last;
};

/** A stored trace. The trace JSON is nmar-trace/1 (trace.h); prompt, output and verdict are
 *  copies for listing and filtering without parsing it. */
struct TraceRecord {
  std::int64_t id = 0;  ///< assigned by the store
  std::int64_t runId = 0;
  std::int64_t step = 0;              ///< the training step (or 0 for a decode)
  std::optional<std::int64_t> group;  ///< GRPO group index, if any
  std::string prompt;
  std::string output;
  nlohmann::json verdict;  ///< null: none
  nlohmann::json trace;    ///< the trace JSON; null when listed without it
};

/**
 * A per-token score of a trace. position is the 0-based index of the step in the trace's steps
 * (not the step's position id, which repeats after pops); token is that step's token.
 */
struct TokenScore {
  int position = 0;
  std::int64_t token = 0;
  std::optional<double> reward;
  std::optional<double> advantage;
  std::optional<double> logprob;
  std::optional<double> ratio;  ///< GRPO importance ratio pi/pi_old (schema v3)
};

/** A file a run produced or used (a checkpoint, an exported trace), with its content hash. */
struct Artifact {
  std::int64_t id = 0;
  std::int64_t runId = 0;
  std::string kind;    ///< "checkpoint", "trace", "export", ...
  std::string path;    ///< as given when recorded (absolute when recorded by the CLI)
  std::string sha256;  ///< lowercase hex
  std::int64_t bytes = 0;
  std::int64_t createdMs = 0;
};

/** What importStore() copied. */
/** What RunStore::importFrom copies: everything, or the runs with their tags and metrics only
 * (no traces, token scores or artifact records: a small record of results, e.g. for a report). */
enum class ImportContent { kEverything, kMetricsOnly };

struct ImportReport {
  std::vector<std::int64_t> runIds;  ///< the new ids, in the source's id order
  std::int64_t tags = 0, metrics = 0, traces = 0, tokenScores = 0, artifacts = 0;
};

/** Milliseconds since the Unix epoch (system clock). */
std::int64_t unixMillisNow();

}  // namespace nmar::core
