// nmar replay TRACE.json [--index K] [--step N] [--plain] [--json]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "cli_common.h"
#include "trace/trace_io.h"
#include "trace/trace_render.h"
#include "util/error.h"

namespace nmar::app {

namespace {

bool isJsonl(const std::string& path) {
  const std::string ext = ".jsonl";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

std::string jsonLine(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void printHeader(const core::Trace& t, const std::string& which, bool color) {
  const char* bold = color ? "\x1b[1m" : "";
  const char* reset = color ? "\x1b[0m" : "";
  std::cout << bold << "trace" << reset << " " << which << "\n"
            << "  model " << t.model << "  tokenizer " << t.tokenizer << "  mode "
            << core::traceModeName(t.mode) << "  seed " << t.seed << "  undo id " << t.undoId
            << "\n"
            << "  prompt " << core::quoteText(t.promptText) << " (" << t.promptIds.size()
            << " ids), " << t.steps.size() << " steps\n";
}

}  // namespace

void registerReplayCommand(CLI::App& app) {
  struct Options {
    std::string file;
    int index = -1;
    int step = -1;
    bool plain = false, json = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Print a trace (nmar-trace/1) step by step: push/pop, the token (for a pop, the token it\n"
      "removed), position, stack depth, log-probability, entropy, the verifier score (v) when a\n"
      "detector scored the decode, FORCED for forced deviations, VERIFIER for UNDOs the verifier\n"
      "trigger caused, and the stack text after the step. The trace is validated first.");
  cmd->add_option("trace", opt->file, "Trace file (.json, or .jsonl with --index)")->required();
  cmd->add_option("--index", opt->index, "The trace to show from a JSONL file (0-based; default 0)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--step", opt->step, "Stop after N steps")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--plain", opt->plain, "No colours, even on a terminal");
  cmd->add_flag("--json", opt->json, "Print the state after each step as one JSON object per line");
  cmd->callback([opt] {
    core::Trace trace;
    std::string which = opt->file;
    if (isJsonl(opt->file) || opt->index >= 0) {
      std::vector<core::Trace> all = core::readTraces(opt->file);
      const int k = opt->index < 0 ? 0 : opt->index;
      if (k >= static_cast<int>(all.size()))
        throw core::Error(opt->file + ": --index " + std::to_string(k) + " is out of range (" +
                          std::to_string(all.size()) + " traces)");
      trace = std::move(all[static_cast<std::size_t>(k)]);
      which += " [" + std::to_string(k) + " of " + std::to_string(all.size()) + "]";
    } else {
      trace = core::readTrace(opt->file);
    }
    const bool color =
        !opt->plain && !opt->json && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    const int total = static_cast<int>(trace.steps.size());
    const int shown = opt->step < 0 ? total : std::min(opt->step, total);
    if (!opt->json) printHeader(trace, which, color);

    core::StackTextTracker tracker(trace.promptText);
    for (int k = 0; k < shown; ++k) {
      const core::TraceStep& step = trace.steps[static_cast<std::size_t>(k)];
      const std::string popped = tracker.apply(step, k);
      if (opt->json)
        std::cout << jsonLine(core::stepStateJson(step, k, tracker, popped)) << "\n";
      else
        std::cout << core::renderStep(step, k + 1, tracker.stackText(), color, popped) << "\n";
    }
    if (opt->json) return;
    if (shown < total) {
      std::cout << "stopped after " << shown << " of " << total << " steps\n";
      return;
    }
    std::cout << "output "
              << core::quoteText(trace.outputText.empty() ? tracker.outputText() : trace.outputText)
              << " (" << trace.outputIds.size() << " ids)\n";
    if (!trace.verdict.is_null()) std::cout << "verdict " << jsonLine(trace.verdict) << "\n";
  });
}

}  // namespace nmar::app
