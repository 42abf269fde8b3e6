#pragma once
/**
 * @file The run explorer's filter: kind, status, tag, name and config conditions over runs held
 * in memory, with the CLI's semantics (`nmar runs list --kind --status --tag --name --where`).
 */
#include <optional>
#include <string>

#include <QString>
#include <QStringList>

#include "store/run_record.h"

namespace nmar::widgets {

/**
 * Parses the filter line of the explorer: whitespace-separated terms "kind:K", "status:S",
 * "tag:T", "key=value" (a config condition, as `--where`) and plain words (matched against the
 * name, case-insensitively, all of them). Throws core::Error naming the term for a bad status or
 * condition ("status:x: unknown run status 'x' (expected ...)").
 */
core::RunFilter parseRunFilter(const QString& text, QStringList* nameWords);

/**
 * True when @p run passes @p filter (RunFilter semantics of core: every member must match; a
 * config condition compares json_extract-style, numbers by value, true/false as 1/0) and every
 * word of @p nameWords occurs in its name (case-insensitive).
 */
bool runMatches(const core::RunInfo& run, const core::RunFilter& filter,
                const QStringList& nameWords = {});

/** The config value at a SQLite JSON path ("$.a.b[2].c"), or nullopt when it is not there. */
std::optional<nlohmann::json> configValueAt(const nlohmann::json& config, const std::string& path);

}  // namespace nmar::widgets
