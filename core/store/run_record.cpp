#include "store/run_record.h"

#include <chrono>

#include "util/error.h"

namespace nmar::core {

std::string runStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
  }
  return "running";
}

RunStatus parseRunStatus(const std::string& name, const std::string& what) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kCancelled})
    if (runStatusName(s) == name) return s;
  throw Error(what + ": unknown run status '" + name +
              "' (expected running, finished, failed or cancelled)");
}

void validateRunKind(const std::string& kind, const std::string& what) {
  bool ok = !kind.empty() && kind.size() <= 32;
  for (char c : kind)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!ok)
    throw Error(what + ": invalid run kind '" + kind +
                "' (expected 1 to 32 characters of a-z, 0-9, '_' and '-', e.g. sft, grpo, decode)");
}

nlohmann::json toJson(const RunInfo& run) {
  auto opt = [](const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"id", run.id},
          {"name", run.name},
          {"kind", run.kind},
          {"status", runStatusName(run.status)},
          {"end_reason", run.endReason},
          {"config", run.config},
          {"code_revision", run.codeRevision},
          {"host", run.host},
          {"pid", run.pid},
          {"started_ms", run.startedMs},
          {"finished_ms", opt(run.finishedMs)},
          {"heartbeat_ms", opt(run.heartbeatMs)},
          {"parent_id", opt(run.parentId)},
          {"tags", run.tags},
          {"notes", run.notes}};
}

std::pair<std::string, nlohmann::json> parseConfigCondition(const std::string& text,
                                                            const std::string& what) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(what + ": expected key=value (e.g. sampler.temperature=0.7), got '" + text + "'");
  const std::string key = text.substr(0, eq);
  const std::string valueText = text.substr(eq + 1);
  std::string path = key[0] == '$' ? key : "$." + key;
  nlohmann::json value = valueText;
  const nlohmann::json parsed = nlohmann::json::parse(valueText, nullptr, false);
  if (!parsed.is_discarded() && !parsed.is_structured()) value = parsed;
  return {path, value};
}

std::int64_t unixMillisNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace nmar::core
