#pragma once
/** @file Named spdlog loggers for core ("core.model", "core.train", ...) sharing one set of sinks. */
#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

namespace nmar::core {

/**
 * Returns the logger called @p name, creating it on first use with the shared sinks.
 * Thread-safe. Names follow the module: "core.model", "core.tokenizer", "app.cli", "gui".
 */
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/**
 * Adds @p sink to every existing and future logger (the GUI's log pane adds one). Thread-safe.
 */
void addLogSink(const spdlog::sink_ptr& sink);

/** Removes a sink previously added with addLogSink(). Thread-safe. */
void removeLogSink(const spdlog::sink_ptr& sink);

/** Sets the level of every logger ("trace", "debug", "info", "warn", "error", "off"). */
void setLogLevel(const std::string& level);

}  // namespace nmar::core
