#pragma once
/**
 * @file Trace files: one trace per JSON file, or many in a JSONL file (one per line).
 * Reading always validates (trace.h); errors name the file, the 1-based JSONL line, the step and
 * the field, e.g. "runs/t.jsonl:3: step 7: pop with nothing to pop (void UNDO)".
 * Text that is not valid UTF-8 is written with U+FFFD replacements (ids are authoritative).
 */
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "trace/trace.h"

namespace nmar::core {

/**
 * Parses and validates one trace from JSON @p text; @p source names it in errors. A syntax error
 * gives "<source>: invalid JSON at line L, column C: <reason>".
 */
Trace parseTrace(std::string_view text, const std::string& source);

/** The trace as compact one-line JSON (a JSONL record, without the newline). */
std::string traceToJsonLine(const Trace& trace);

/**
 * Validates @p trace and writes it as pretty JSON to @p path atomically (a temporary file in the
 * same folder, flushed, then renamed over @p path). Throws Error naming the file on failure.
 */
void writeTrace(const std::filesystem::path& path, const Trace& trace);

/** Reads and validates the trace in the JSON file @p path. Throws Error naming the file. */
Trace readTrace(const std::filesystem::path& path);

/**
 * Reads every trace of the JSONL file @p path (blank lines are allowed and skipped). A malformed
 * line gives "<path>:<line>: invalid JSON at column C: <reason>"; an invalid trace
 * "<path>:<line>: step k: ...".
 */
std::vector<Trace> readTraces(const std::filesystem::path& path);

/**
 * Validates @p trace and appends it as one line to the JSONL file @p path (created if missing),
 * in a single write. If the file does not end with a newline (a torn earlier write), one is
 * added first so the new record stays intact. Not synced to disk; not safe against concurrent
 * appenders from other processes beyond what O_APPEND gives.
 */
void appendTrace(const std::filesystem::path& path, const Trace& trace);

/** Validates every trace and writes them all as a JSONL file, atomically. */
void writeTraces(const std::filesystem::path& path, const std::vector<Trace>& traces);

}  // namespace nmar::core
