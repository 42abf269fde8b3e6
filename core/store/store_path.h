#pragma once
/** @file Where the run store lives by default (shared by the CLI and the GUI). */
#include <filesystem>

namespace nmar::core {

/**
 * The default run store: $NMAR_STORE when set and not empty; else
 * $XDG_DATA_HOME/nmar/runs.sqlite when XDG_DATA_HOME is set to an absolute path; else
 * $HOME/.local/share/nmar/runs.sqlite. Creates nothing. Throws Error when none of NMAR_STORE,
 * XDG_DATA_HOME and HOME is set.
 */
std::filesystem::path defaultStorePath();

}  // namespace nmar::core
