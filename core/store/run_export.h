#pragma once
/** @file Exporting a run's metrics (CSV or JSON) and traces (JSONL) from a run store. */
#include <cstdint>
#include <filesystem>

namespace nmar::core {

class RunStore;

/**
 * Writes every metric value of run @p runId to @p file, atomically; the format follows the
 * extension:
 * - ".csv": a header "run_id,key,step,value,wall_ms", then one row per value by key and step
 *   (keys quoted when they hold a comma or a quote; NaN as an empty field);
 * - ".json": {"run": <the run (see toJson(RunInfo))>, "metrics": {"<key>": {"step": [...],
 *   "value": [...], "wall_ms": [...]}}} (NaN as null).
 * Returns the number of values written. Throws Error naming the file for another extension, a
 * missing folder or an I/O failure, and "<store>: no run with id N" for an unknown run.
 */
std::int64_t exportMetrics(RunStore& store, std::int64_t runId, const std::filesystem::path& file);

/**
 * Writes every trace of run @p runId, by step, to @p file as JSONL (one nmar-trace/1 object per
 * line, readable by `nmar replay` and readTraces()), atomically. Returns the number of traces.
 * Throws Error naming the file (the extension must be .jsonl) or the unknown run.
 */
std::int64_t exportTraces(RunStore& store, std::int64_t runId, const std::filesystem::path& file);

}  // namespace nmar::core
