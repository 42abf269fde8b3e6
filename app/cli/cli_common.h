#pragma once
/** @file Small helpers shared by the `nmar` subcommands. */
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace nmar::app {

/** Registers `nmar tokenize`. */
void registerTokenizeCommand(CLI::App& app);
/** Registers `nmar model info|new`. */
void registerModelCommand(CLI::App& app);
/** Registers `nmar forward`. */
void registerForwardCommand(CLI::App& app);
/** Registers `nmar replay`. */
void registerReplayCommand(CLI::App& app);
/** Registers `nmar decode`. */
void registerDecodeCommand(CLI::App& app);
/** Registers `nmar data sample|verify` (built-in tasks, JSONL datasets, deviation injection). */
void registerDataCommand(CLI::App& app);
/** Registers `nmar init-token` (add UNDO with an initialisation strategy and report KL). */
void registerInitTokenCommand(CLI::App& app);
/** Registers `nmar train`. */
void registerTrainCommand(CLI::App& app);
/** Registers `nmar runs list|show|tag|note|delete|export|import` (the run store). */
void registerRunsCommand(CLI::App& app);
/** Registers `nmar launch` (N data-parallel processes with the torchrun environment). */
void registerLaunchCommand(CLI::App& app);
/** Registers `nmar detector train|eval` (the deviation detector, issue 12). */
void registerDetectorCommand(CLI::App& app);
/** Registers `nmar experiments run|report` (experiment suites over seeds, issue 9). */
void registerExperimentsCommand(CLI::App& app);

/**
 * Parses "1,2,3" (spaces allowed) into token ids. Throws core::Error naming the item and its
 * 1-based position when an item is not a non-negative integer.
 */
std::vector<std::int64_t> parseIdList(const std::string& text);

}  // namespace nmar::app
