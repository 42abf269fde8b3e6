// nmar train EXPERIMENT.toml [--resume [CHECKPOINT]] [--store PATH | --no-store] [--steps N]
//            [--out DIR] [--device D] [--checkpoint DIR] [--quiet]
// Masked SFT or GRPO, by the experiment's [run].kind; data-parallel under the torchrun variables.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "cli_common.h"
#include "store/run_store.h"
#include "store/store_path.h"
#include "train/distributed.h"
#include "train/evaluator.h"
#include "train/grpo_trainer.h"
#include "train/sft_trainer.h"
#include "train/store_observer.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::app {
namespace {

std::atomic<bool> g_cancel{false};
void onInterrupt(int) { g_cancel = true; }

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

/** A progress bar on a terminal (redrawn at most 10 times a second), plain lines otherwise. */
class ConsoleObserver : public core::TrainObserver {
 public:
  ConsoleObserver(bool quiet, int logEvery)
      : m_tty(isatty(STDERR_FILENO) != 0), m_quiet(quiet), m_logEvery(logEvery) {}

  void onStart(std::int64_t firstStep, std::int64_t total) override {
    m_first = firstStep;
    m_t0 = Clock::now();
    if (!m_quiet) {
      std::cerr << (firstStep > 0 ? "resuming at step " + std::to_string(firstStep) + " of "
                                  : "training for ")
                << total << " steps\n";
    }
  }
  void onProgress(std::int64_t step, std::int64_t total, double loss, double tps) override {
    if (m_quiet) return;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - m_t0).count();
    const double eta = elapsed / std::max<std::int64_t>(1, step - m_first) * (total - step);
    if (m_tty) {
      if (step != total && now - m_lastDraw < std::chrono::milliseconds(100)) return;
      m_lastDraw = now;
      const int width = 30;
      const int filled = static_cast<int>(width * static_cast<double>(step) / total);
      std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.4f %6.0f tok/s ETA %s   ",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   static_cast<long long>(step), static_cast<long long>(total), loss, tps,
                   formatDuration(eta).c_str());
      if (step == total) std::fputc('\n', stderr);
      m_dirty = step != total;
    } else if (step % m_logEvery == 0 || step == total) {
      std::fprintf(stderr, "step %lld/%lld loss %.4f %.0f tok/s ETA %s\n",
                   static_cast<long long>(step), static_cast<long long>(total), loss, tps,
                   formatDuration(eta).c_str());
    }
  }
  void onEval(std::int64_t step, const core::EvalResult& r) override {
    if (m_quiet) return;
    clearLine();
    std::fprintf(stderr,
                 "eval @%lld: clean %.3f  recovery hard %.3f soft %.3f  detection %.3f  "
                 "false-UNDO %.4f  deviation logp %.3f  UNDO/seq %.2f  overhead %.3f (%.1fs)\n",
                 static_cast<long long>(step), r.cleanAccuracy, r.recoveryHard, r.recoverySoft,
                 r.detectionRate, r.falseUndoRate, r.deviationLikelihood, r.undoPerSequence,
                 r.tokenOverhead, r.seconds);
    if (r.extra.count("eval/detector_auroc")) {
      auto at = [&](const char* key) {
        return r.extra.count(key) ? r.extra.at(key) : std::nan("");
      };
      std::fprintf(stderr,
                   "  detector: AUROC %.3f (natural %.3f)  P/R %.3f/%.3f  false triggers %.4f  "
                   "with trigger: clean %.3f recovery hard %.3f; trigger only: clean %.3f "
                   "recovery hard %.3f\n",
                   at("eval/detector_auroc"), at("eval/detector_auroc_natural"),
                   at("eval/detector_precision"), at("eval/detector_recall"),
                   at("eval/detector_false_trigger"), at("eval/clean_acc_verifier"),
                   at("eval/recovery_hard_verifier"), at("eval/clean_acc_verifier_only"),
                   at("eval/recovery_hard_verifier_only"));
    }
  }
  void onMetrics(std::int64_t step, const std::map<std::string, double>& m) override {
    // GRPO rows (they have a reward): one line with what the progress bar cannot show.
    if (m_quiet || !m.count("train/reward")) return;
    auto at = [&](const char* key) { return m.count(key) ? m.at(key) : std::nan(""); };
    clearLine();
    std::fprintf(stderr,
                 "step %lld: reward %.3f (std %.3f)  acc %.3f  UNDO/c %.2f  useless %.3f  "
                 "len %.1f  kl %.4f  clip %.3f  zero-std %.2f\n",
                 static_cast<long long>(step), at("train/reward"), at("train/reward_std"),
                 at("train/accuracy"), at("train/undo_per_completion"),
                 at("train/useless_undo_rate"), at("train/completion_length"), at("train/kl"),
                 at("train/clip_ratio"), at("train/frac_reward_zero_std"));
  }
  void onCheckpoint(std::int64_t step, const std::filesystem::path& dir) override {
    if (m_quiet) return;
    clearLine();
    std::cerr << "checkpoint @" << step << ": " << dir.string() << "\n";
  }
  void onMessage(const std::string& text) override {
    clearLine();
    std::cerr << text << "\n";
  }

 private:
  using Clock = std::chrono::steady_clock;
  void clearLine() {
    if (m_dirty) std::fputc('\n', stderr);
    m_dirty = false;
  }
  bool m_tty, m_quiet, m_dirty = false;
  int m_logEvery;
  std::int64_t m_first = 0;
  Clock::time_point m_t0 = Clock::now(), m_lastDraw{};
};

struct TrainArgs {
  std::string experiment, storePath, outDir, device, resumeFrom, checkpoint;
  bool resume = false, noStore = false, quiet = false;
  std::int64_t steps = 0;
};

/** Runs one job (SftTrainer or GrpoTrainer: the same control surface) and records it. */
template <typename Trainer>
int runJob(const core::ExperimentConfig& config, const TrainArgs& a) {
  // Data-parallel when started by `nmar launch` or torchrun (RANK, WORLD_SIZE, ...): rank 0
  // records the run and prints progress; the other ranks only print messages and errors.
  std::shared_ptr<core::DistributedContext> dist =
      core::distributedFromEnvironment(core::parseDevice(config.device));
  const bool main = dist->isMain();
  ConsoleObserver console(a.quiet || !main, config.train.logEvery);
  if (dist->distributed() && main && !a.quiet) {
    std::cerr << "data-parallel: " << dist->worldSize() << " processes (" << dist->backend()
              << ")\n";
  }
  Trainer trainer(config, &console, dist);
  std::optional<std::int64_t> resumedRun;
  if (a.resume) {
    trainer.resume(a.resumeFrom);
    const nlohmann::json& extra = trainer.stateExtra();
    if (extra.contains("run_id")) resumedRun = extra.at("run_id").get<std::int64_t>();
  }

  std::unique_ptr<core::RunStore> store;
  std::unique_ptr<core::StoreTrainObserver> storeObserver;
  std::int64_t runId = -1;
  if (!a.noStore && main) {
    const std::filesystem::path path =
        a.storePath.empty() ? core::defaultStorePath() : std::filesystem::path(a.storePath);
    store = std::make_unique<core::RunStore>(path);
    if (resumedRun && store->findRun(*resumedRun)) {
      runId = *resumedRun;
      store->reopenRun(runId);
    } else {
      core::NewRun run;
      run.name = config.name;
      run.kind = config.isGrpo() ? "grpo" : "sft";
      run.config = config.toJson();
      run.config["experiment_file"] = std::filesystem::absolute(a.experiment).string();
      if (dist->distributed()) {
        run.config["data_parallel"] = {{"world_size", dist->worldSize()},
                                       {"backend", dist->backend()}};
      }
      runId = store->createRun(run);
    }
    trainer.setStateExtra({{"run_id", runId}, {"store", std::filesystem::absolute(path).string()}});
    storeObserver = std::make_unique<core::StoreTrainObserver>(*store, runId, &console);
    std::cerr << "run " << runId << " in " << path.string() << "\n";
  }
  // The trainer reports to the store observer, which forwards to the console.
  core::TrainObserver* observer = storeObserver ? static_cast<core::TrainObserver*>(storeObserver.get())
                                                : &console;
  trainer.setObserver(observer);

  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  core::TrainOutcome outcome;
  try {
    outcome = trainer.run(&g_cancel);
  } catch (const core::Error& e) {
    if (store) {
      store->finishRun(runId, core::RunStatus::kFailed, e.what());
    }
    throw;
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (store) {
    const core::RunStatus status = outcome.status == core::TrainStatus::kFinished
                                       ? core::RunStatus::kFinished
                                       : outcome.status == core::TrainStatus::kCancelled
                                             ? core::RunStatus::kCancelled
                                             : core::RunStatus::kFailed;
    store->finishRun(runId, status, outcome.message);
  }
  std::cout << core::trainStatusName(outcome.status) << " at step " << outcome.step;
  if (!outcome.lastCheckpoint.empty()) std::cout << "; checkpoint " << outcome.lastCheckpoint.string();
  if (runId >= 0) std::cout << "; run " << runId;
  std::cout << "\n";
  if (outcome.status == core::TrainStatus::kFailed) {
    std::cerr << "nmar: error: " << outcome.message << "\n";
    return 1;
  }
  return outcome.status == core::TrainStatus::kCancelled ? 130 : 0;
}

int runTrain(const TrainArgs& a) {
  core::ExperimentConfig config = core::loadExperiment(a.experiment);
  if (a.steps > 0) {
    config.train.steps = a.steps;
    config.optim.schedule.totalSteps = a.steps;
  }
  if (!a.outDir.empty()) config.outDir = a.outDir;
  if (!a.device.empty()) config.device = a.device;
  if (!a.checkpoint.empty()) config.model.checkpoint = std::filesystem::absolute(a.checkpoint);
  return config.isGrpo() ? runJob<core::GrpoTrainer>(config, a)
                         : runJob<core::SftTrainer>(config, a);
}

}  // namespace

void registerTrainCommand(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Masked SFT or GRPO from a TOML experiment file (see experiments/), by its [run].kind\n"
      "(a [grpo] table makes it GRPO). SFT: curriculum, deviation injection; a [detector] table\n"
      "also trains a deviation detector head on the stack labels (saved in every checkpoint;\n"
      "evaluations add its AUROC and accuracy with the verifier trigger). GRPO: groups of\n"
      "completions sampled with pruned decoding from the policy (start it from an SFT checkpoint:\n"
      "[model].checkpoint or --checkpoint), rewards from [rewards], clipped updates, KL to the\n"
      "starting model when [grpo].beta > 0; group traces and per-token scores go to the store.\n"
      "Both: periodic evaluation, checkpoints in the Hugging Face layout, metrics in the run "
      "store.\nCtrl-C stops after the current step and writes a checkpoint; --resume continues "
      "it.\nData-parallel: under `nmar launch --nproc N -- train ...` or torchrun (RANK, "
      "WORLD_SIZE,\nLOCAL_RANK, MASTER_ADDR, MASTER_PORT) every process trains its shard of each "
      "batch\n(Gloo on CPU, NCCL on CUDA); rank 0 writes checkpoints and the run store.");
  cmd->add_option("experiment", args->experiment, "Experiment TOML file")->required();
  cmd->add_flag("--resume", args->resume,
                "Continue from the newest checkpoint under the output folder (same run id)");
  cmd->add_option("--resume-from", args->resumeFrom, "Continue from this checkpoint-N folder")
      ->each([args](const std::string&) { args->resume = true; });
  cmd->add_option("--store", args->storePath,
                  "Run store file (default: $NMAR_STORE or ~/.local/share/nmar/runs.sqlite)");
  cmd->add_flag("--no-store", args->noStore, "Do not record the run in a run store");
  cmd->add_option("--steps", args->steps, "Override [train].steps")->check(CLI::PositiveNumber);
  cmd->add_option("--out", args->outDir, "Override [run].out_dir (checkpoints)");
  cmd->add_option("--device", args->device, "Override [run].device (cpu, cuda, cuda:N)");
  cmd->add_option("--checkpoint", args->checkpoint,
                  "Override [model].checkpoint (GRPO: the SFT checkpoint to start from)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress output");
  cmd->callback([args] {
    const int rc = runTrain(*args);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace nmar::app
