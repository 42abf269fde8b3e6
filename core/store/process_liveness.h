#pragma once
/** @file Is the process that writes a run still alive? Used to find runs whose process died. */
#include <cstdint>
#include <string>

namespace nmar::core {

/** This machine's host name (gethostname), computed once. Thread-safe. */
const std::string& thisHost();

/**
 * True when a process with id @p pid exists on this machine (kill(pid, 0) succeeds or fails with
 * EPERM). A zombie counts as alive until its parent reaps it.
 */
bool processAlive(std::int64_t pid);

/**
 * True when process @p pid on this machine is stopped (SIGSTOP, job control, a debugger: state T
 * or t in /proc/PID/stat). False when it runs, is gone, or /proc cannot tell.
 */
bool processStopped(std::int64_t pid);

/** The facts about a running run that decide whether its writer is gone. */
struct RunLiveness {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t lastSignMs = 0;  ///< heartbeat, or the start time when it never sent one
};

/**
 * Why a run marked running is in fact dead, or empty when it may be alive: "process died" when it
 * ran on this host and its pid is gone, "no heartbeat for N s" when its last sign of life is older
 * than @p staleAfterMs (any host; 0 disables this rule) unless it ran on this host and its process
 * is stopped (a paused run sends no heartbeat but is not dead).
 */
std::string deadRunReason(const RunLiveness& run, std::int64_t nowMs, std::int64_t staleAfterMs);

}  // namespace nmar::core
