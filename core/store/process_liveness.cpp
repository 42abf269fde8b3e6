#include "store/process_liveness.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>

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

bool processStopped(std::int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  // "pid (comm) state ...": comm may hold spaces and parentheses, so look after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  return state == 'T' || state == 't';
}

std::string deadRunReason(const RunLiveness& run, std::int64_t nowMs, std::int64_t staleAfterMs) {
  if (run.host == thisHost()) {
    if (!processAlive(run.pid)) return "process died";
    if (processStopped(run.pid)) return {};  // paused (SIGSTOP, the launcher's Pause): no heartbeat
  }
  if (staleAfterMs > 0 && nowMs - run.lastSignMs > staleAfterMs)
    return "process died (no heartbeat for " + std::to_string((nowMs - run.lastSignMs) / 1000) +
           " s)";
  return {};
}

}  // namespace nmar::core
