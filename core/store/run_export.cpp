#include "store/run_export.h"

#include <cmath>
#include <sstream>

#include "store/run_store.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace {

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csvNumber(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

std::int64_t exportMetrics(RunStore& store, std::int64_t runId, const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (ext != ".csv" && ext != ".json")
    throw Error(file.string() + ": unknown metrics format '" + ext +
                "' (expected a .csv or .json file)");
  const RunInfo run = store.getRun(runId);
  const std::vector<std::string> keys = store.metricKeys(runId);
  const std::vector<MetricSeries> series = store.metricSeries({runId}, keys);
  std::int64_t count = 0;
  std::string bytes;
  if (ext == ".csv") {
    bytes = "run_id,key,step,value,wall_ms\n";
    for (const MetricSeries& s : series)
      for (const MetricPoint& p : s.points) {
        bytes += std::to_string(runId) + "," + csvField(s.key) + "," + std::to_string(p.step) +
                 "," + csvNumber(p.value) + "," + std::to_string(p.wallMs) + "\n";
        ++count;
      }
  } else {
    nlohmann::json metrics = nlohmann::json::object();
    for (const MetricSeries& s : series) {
      nlohmann::json steps = nlohmann::json::array(), values = nlohmann::json::array(),
                     walls = nlohmann::json::array();
      for (const MetricPoint& p : s.points) {
        steps.push_back(p.step);
        values.push_back(std::isfinite(p.value) ? nlohmann::json(p.value) : nlohmann::json());
        walls.push_back(p.wallMs);
        ++count;
      }
      metrics[s.key] = {{"step", steps}, {"value", values}, {"wall_ms", walls}};
    }
    const nlohmann::json doc = {{"run", toJson(run)}, {"metrics", metrics}};
    bytes = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  writeFileAtomically(file, bytes);
  return count;
}

std::int64_t exportTraces(RunStore& store, std::int64_t runId, const std::filesystem::path& file) {
  if (file.extension() != ".jsonl")
    throw Error(file.string() + ": traces are exported as JSONL (expected a .jsonl file)");
  store.getRun(runId);
  const std::vector<TraceRecord> traces = store.traces(runId, std::nullopt, true);
  std::string bytes;
  for (const TraceRecord& t : traces)
    bytes += t.trace.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  writeFileAtomically(file, bytes);
  return static_cast<std::int64_t>(traces.size());
}

}  // namespace nmar::core
