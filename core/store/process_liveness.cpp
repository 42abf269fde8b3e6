#include "store/process_liveness.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace nmar::core {

const std::string& thisHost() {
  static const std::string host = [] {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return std::string("localhost");
    return std::string(name);
  }();
  return host;
}

bool processAlive(std::int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

std::string deadRunReason(const RunLiveness& run, std::int64_t nowMs, std::int64_t staleAfterMs) {
  if (run.host == thisHost() && !processAlive(run.pid)) return "process died";
  if (staleAfterMs > 0 && nowMs - run.lastSignMs > staleAfterMs)
    return "process died (no heartbeat for " + std::to_string((nowMs - run.lastSignMs) / 1000) +
           " s)";
  return {};
}

}  // namespace nmar::core
