// nmar runs list|show|tag|note|delete|export|import [--store PATH]: the run store from the shell.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_common.h"
#include "store/run_export.h"
#include "store/run_store.h"
#include "store/store_path.h"
#include "util/error.h"

namespace nmar::app {
namespace {

namespace fs = std::filesystem;

const char* kStoreHelp =
    "Run store file (default: $NMAR_STORE, else $XDG_DATA_HOME/nmar/runs.sqlite, else "
    "~/.local/share/nmar/runs.sqlite)";

fs::path storePath(const std::string& option) {
  return option.empty() ? core::defaultStorePath() : fs::path(option);
}

/** Opens an existing store: for writing when the file is writable (so dead runs get marked and
 *  an older schema is migrated), read-only otherwise. */
std::unique_ptr<core::RunStore> openStore(const std::string& option, bool forWriting) {
  const fs::path path = storePath(option);
  core::StoreOptions o;
  o.create = false;
  o.readOnly = !forWriting && fs::exists(path) && ::access(path.c_str(), W_OK) != 0;
  return std::make_unique<core::RunStore>(path, o);
}

std::string localTime(std::int64_t unixMs) {
  const std::time_t t = static_cast<std::time_t>(unixMs / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string duration(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  return buf;
}

std::string runDuration(const core::RunInfo& r) {
  const std::int64_t end = r.finishedMs.value_or(core::unixMillisNow());
  return duration(end - r.startedMs);
}

std::string joined(const std::vector<std::string>& items, const char* separator = ",") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

std::string statusText(const core::RunInfo& r) {
  std::string s = core::runStatusName(r.status);
  if (!r.endReason.empty()) s += " (" + r.endReason + ")";
  return s;
}

std::string number(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

std::int64_t parseRunId(const std::string& text) {
  bool ok = !text.empty() && text.size() <= 18;
  for (char c : text) ok = ok && c >= '0' && c <= '9';
  if (!ok) throw core::Error("'" + text + "' is not a run id (expected a positive integer)");
  return std::stoll(text);
}

// --- list ---

void listRuns(const std::string& store, const core::RunFilter& filter, bool json) {
  const fs::path path = storePath(store);
  if (!fs::exists(path)) {
    if (json)
      std::cout << "[]\n";
    else
      std::cout << "no runs yet (no run store at " << path.string() << ")\n";
    return;
  }
  const auto db = openStore(store, false);
  const std::vector<core::RunInfo> runs = db->listRuns(filter);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const core::RunInfo& r : runs) out.push_back(core::toJson(r));
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (runs.empty()) {
    std::cout << "no matching runs in " << path.string() << "\n";
    return;
  }
  std::printf("%5s  %-8s  %-9s  %-19s  %8s  %s\n", "ID", "KIND", "STATUS", "STARTED", "TIME",
              "NAME [TAGS]");
  for (const core::RunInfo& r : runs) {
    std::string name = r.name;
    if (!r.tags.empty()) name += " [" + joined(r.tags) + "]";
    std::printf("%5lld  %-8s  %-9s  %-19s  %8s  %s\n", static_cast<long long>(r.id), r.kind.c_str(),
                core::runStatusName(r.status).c_str(), localTime(r.startedMs).c_str(),
                runDuration(r).c_str(), name.c_str());
  }
}

// --- show ---

void showRun(const std::string& store, std::int64_t id, bool json) {
  const auto db = openStore(store, false);
  db->markDeadRuns();
  const core::RunInfo r = db->getRun(id);
  const auto metrics = db->metricSummaries(id);
  const auto artifacts = db->artifacts(id);
  const std::int64_t traces = db->traceCount(id);
  if (json) {
    nlohmann::json out = {{"run", core::toJson(r)}, {"traces", traces}};
    out["metrics"] = nlohmann::json::array();
    for (const auto& m : metrics)
      out["metrics"].push_back(
          {{"key", m.key},
           {"count", m.count},
           {"last_step", m.last.step},
           {"last_value",
            std::isfinite(m.last.value) ? nlohmann::json(m.last.value) : nlohmann::json()}});
    out["artifacts"] = nlohmann::json::array();
    for (const auto& a : artifacts)
      out["artifacts"].push_back({{"kind", a.kind},
                                  {"path", a.path},
                                  {"sha256", a.sha256},
                                  {"bytes", a.bytes},
                                  {"created_ms", a.createdMs}});
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "run " << r.id << ": " << r.name << "\n"
            << "  kind      " << r.kind << "\n"
            << "  status    " << statusText(r) << "\n"
            << "  started   " << localTime(r.startedMs) << "\n";
  if (r.finishedMs) std::cout << "  finished  " << localTime(*r.finishedMs) << "\n";
  std::cout << "  time      " << runDuration(r) << "\n"
            << "  host      " << r.host << " (pid " << r.pid << ")\n"
            << "  revision  " << r.codeRevision << "\n";
  if (r.parentId) std::cout << "  parent    " << *r.parentId << "\n";
  if (!r.tags.empty()) std::cout << "  tags      " << joined(r.tags, ", ") << "\n";
  if (!r.notes.empty()) std::cout << "  notes     " << r.notes << "\n";
  std::cout << "config\n";
  std::istringstream config(r.config.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  for (std::string line; std::getline(config, line);) std::cout << "  " << line << "\n";
  std::cout << "metrics (" << metrics.size() << " keys)\n";
  for (const auto& m : metrics)
    std::cout << "  " << std::left << std::setw(24) << m.key << std::right << " last "
              << number(m.last.value) << " at step " << m.last.step << " (" << m.count
              << " values)\n";
  std::cout << "artifacts (" << artifacts.size() << ")\n";
  for (const auto& a : artifacts)
    std::cout << "  " << a.kind << "  " << a.path << "  " << a.bytes << " bytes  sha256 "
              << a.sha256 << "\n";
  std::cout << "traces    " << traces << "\n";
}

// --- delete ---

void deleteRuns(const std::string& store, const std::vector<std::int64_t>& ids, bool yes) {
  const auto db = openStore(store, true);
  for (std::int64_t id : ids) db->getRun(id);  // every id must exist before anything is asked
  if (!yes) {
    if (!::isatty(STDIN_FILENO))
      throw core::Error("refusing to delete " + std::to_string(ids.size()) +
                        " run(s) without --yes (stdin is not a terminal to ask)");
    std::cout << "delete";
    for (std::int64_t id : ids) std::cout << " run " << id << " (" << db->getRun(id).name << ")";
    std::cout << " with all its metrics, traces and artifacts records? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "nothing deleted\n";
      return;
    }
  }
  db->deleteRuns(ids);
  std::cout << "deleted " << ids.size() << " run(s) from " << db->path().string() << "\n";
}

}  // namespace

void registerRunsCommand(CLI::App& app) {
  CLI::App* runs = app.add_subcommand(
      "runs",
      "The run store (SQLite): every run, metric, trace and artifact. Subcommands list, show,\n"
      "tag, note, delete, export and import; each takes --store PATH (default: $NMAR_STORE, else\n"
      "$XDG_DATA_HOME/nmar/runs.sqlite, else ~/.local/share/nmar/runs.sqlite).");
  runs->require_subcommand(1);

  struct Options {
    std::string store, id, kind, status, tag, name, metrics, traces, file, text;
    std::vector<std::string> where, ids, tags;
    bool json = false, remove = false, yes = false, metricsOnly = false;
  };
  auto opt = std::make_shared<Options>();

  CLI::App* list = runs->add_subcommand("list", "List runs, oldest first, with optional filters");
  list->add_option("--store", opt->store, kStoreHelp);
  list->add_option("--kind", opt->kind, "Only runs of this kind (sft, grpo, eval, decode, ...)");
  list->add_option("--status", opt->status, "Only runs with this status")
      ->check(CLI::IsMember({"running", "finished", "failed", "cancelled"}));
  list->add_option("--tag", opt->tag, "Only runs with this tag");
  list->add_option("--name", opt->name, "Only runs whose name contains this text");
  list->add_option("--where", opt->where,
                   "Config condition key=value (repeatable), e.g. sampler.temperature=0.7; the "
                   "value is JSON when it parses as a JSON scalar, else a string");
  list->add_flag("--json", opt->json, "Print a JSON array of runs");
  list->callback([opt, list] {
    core::RunFilter f;
    if (list->count("--kind")) f.kind = opt->kind;
    if (list->count("--status")) f.status = core::parseRunStatus(opt->status, "--status");
    if (list->count("--tag")) f.tag = opt->tag;
    if (list->count("--name")) f.nameContains = opt->name;
    for (const std::string& w : opt->where)
      f.configEquals.push_back(core::parseConfigCondition(w, "--where " + w));
    listRuns(opt->store, f, opt->json);
  });

  CLI::App* show = runs->add_subcommand(
      "show", "Show a run: config, tags, metric keys with their last values, artifacts, traces");
  show->add_option("id", opt->id, "Run id")->required();
  show->add_option("--store", opt->store, kStoreHelp);
  show->add_flag("--json", opt->json, "Print JSON");
  show->callback([opt] { showRun(opt->store, parseRunId(opt->id), opt->json); });

  CLI::App* tag = runs->add_subcommand("tag", "Add tags to a run (or remove them with --remove)");
  tag->add_option("id", opt->id, "Run id")->required();
  tag->add_option("tags", opt->tags, "Tags (no spaces or commas)")->required();
  tag->add_option("--store", opt->store, kStoreHelp);
  tag->add_flag("--remove", opt->remove, "Remove the tags instead");
  tag->callback([opt] {
    const auto db = openStore(opt->store, true);
    const std::int64_t id = parseRunId(opt->id);
    if (opt->remove)
      db->removeTags(id, opt->tags);
    else
      db->addTags(id, opt->tags);
    std::cout << "run " << id << " tags: " << joined(db->getRun(id).tags, ", ") << "\n";
  });

  CLI::App* note = runs->add_subcommand("note", "Replace the notes of a run");
  note->add_option("id", opt->id, "Run id")->required();
  note->add_option("text", opt->text, "The notes")->required();
  note->add_option("--store", opt->store, kStoreHelp);
  note->callback([opt] {
    const auto db = openStore(opt->store, true);
    db->setNotes(parseRunId(opt->id), opt->text);
    std::cout << "run " << opt->id << " notes updated\n";
  });

  CLI::App* del = runs->add_subcommand(
      "delete", "Delete runs with their metrics, traces, scores and artifact records (not files)");
  del->add_option("ids", opt->ids, "Run ids")->required();
  del->add_option("--store", opt->store, kStoreHelp);
  del->add_flag("--yes", opt->yes, "Do not ask for confirmation");
  del->callback([opt] {
    std::vector<std::int64_t> ids;
    for (const std::string& s : opt->ids) ids.push_back(parseRunId(s));
    deleteRuns(opt->store, ids, opt->yes);
  });

  CLI::App* exp = runs->add_subcommand(
      "export", "Export a run's metrics (.csv or .json) and/or traces (.jsonl, for nmar replay)");
  exp->add_option("id", opt->id, "Run id")->required();
  exp->add_option("--metrics", opt->metrics, "Metrics file: .csv (long format) or .json");
  exp->add_option("--traces", opt->traces, "Traces file (.jsonl, one nmar-trace/1 per line)");
  exp->add_option("--store", opt->store, kStoreHelp);
  exp->callback([opt] {
    if (opt->metrics.empty() && opt->traces.empty())
      throw CLI::ValidationError("runs export", "give --metrics FILE and/or --traces FILE");
    const auto db = openStore(opt->store, false);
    const std::int64_t id = parseRunId(opt->id);
    if (!opt->metrics.empty())
      std::cout << "wrote " << core::exportMetrics(*db, id, opt->metrics) << " metric values to "
                << opt->metrics << "\n";
    if (!opt->traces.empty())
      std::cout << "wrote " << core::exportTraces(*db, id, opt->traces) << " traces to "
                << opt->traces << "\n";
  });

  CLI::App* imp = runs->add_subcommand(
      "import", "Merge another run store into this one (new run ids; the source is not changed)");
  imp->add_option("file", opt->file, "The run store to import")->required();
  imp->add_option("--store", opt->store, kStoreHelp);
  imp->add_flag("--metrics-only", opt->metricsOnly,
                "Copy the runs, tags and metrics only, not traces, token scores or artifact records "
                "(a small record of results, e.g. experiments/claims.sqlite for the report)");
  imp->callback([opt] {
    core::StoreOptions o;  // the destination is created when missing
    core::RunStore db(storePath(opt->store), o);
    const core::ImportReport r = db.importFrom(
        opt->file, opt->metricsOnly ? core::ImportContent::kMetricsOnly
                                    : core::ImportContent::kEverything);
    std::cout << "imported " << r.runIds.size() << " runs";
    if (!r.runIds.empty())
      std::cout << " (new ids " << r.runIds.front() << ".." << r.runIds.back() << ")";
    std::cout << ", " << r.metrics << " metric values, " << r.traces << " traces, " << r.tokenScores
              << " token scores, " << r.artifacts << " artifacts, " << r.tags << " tags from "
              << opt->file << " into " << db.path().string() << "\n";
  });
}

}  // namespace nmar::app
