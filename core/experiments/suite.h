#pragma once
/**
 * @file Experiment suites: a TOML file that lists experiments (each a base experiment TOML and
 * variants given as field overrides) to run over several seeds, and the plan of runs it expands
 * to. The suite driver (suite_runner.h) runs the plan into a run store; the report
 * (suite_report.h) reads it back.
 *
 * Format (paths relative to the suite file):
 *   [suite]   name = "claims", title = "...", description = "...", footer = "...", seeds = 3,
 *             out_dir = "../runs/suite-claims"
 *   [defaults] set = { "train.log_every" = 50 }            # over every run
 *   [quick]   seeds = 1, set = { "train.steps" = 40 }     # over every run with --quick
 *   [[experiment]] name = "negative-learning", title = "...", claim = "...", reading = "...",
 *                  base = "addition-tiny.toml", metrics = ["eval/clean_acc", ...],
 *                  expect = ["masked.eval/deviation_logprob < naive.eval/deviation_logprob"]
 *     [[experiment.variant]] name = "naive", set = { "train.loss" = "naive" }  # base = ... too
 * An override key is a dotted path into the experiment file ("train.loss" is [train].loss); the
 * value replaces the field (tables merge). Overrides apply in the order defaults, experiment
 * `set`, variant `set`, suite [quick], experiment `quick` (the last two only with --quick).
 *
 * Stages: `from = "EXPERIMENT.VARIANT"` (on a variant, or on the experiment for all its variants)
 * makes a run start from the final checkpoint of that variant's run with the same seed ([model]
 * checkpoint is set to it); the plan puts such dependencies first, and `--only` pulls them in.
 * `undo_init = "random" | "mean" | "semantic" | "hewitt"` (with `from`) re-initialises (or adds)
 * the UNDO token of that checkpoint with the strategy before training and logs the token-init
 * report (init/kl_shift, init/p_undo_mean, ...) at step 0. A cycle or an unknown reference is an
 * error naming the experiment and variant. `recovery_events = N` (experiment or variant) evaluates
 * the final checkpoint with N forced deviations per answer (suite_post_eval.h) and logs
 * post/recovery_multi, post/clean_acc, post/forced_per_seq, post/undo_per_seq at the last step.
 * `compute_matched = N` runs compute_matched.h's comparison (post/cm_* keys) with up to N samples.
 * `natural_samples = N` samples N completions per held-out example at temperature 1 and scores
 * the model's own errors (suite_post_eval.h): post/natural_undo_next, post/natural_undo_later,
 * post/natural_recovery, post/natural_errors_per_seq, post/natural_acc, post/natural_false_undo.
 * `evaluate_only = true` (with `from`) trains nothing: the run (kind "eval") only records these
 * evaluations of the stage's checkpoint, at step 0.
 *
 * Metrics are logged keys or values derived from their series (suite_metric.h), e.g.
 * "max(train/loss,..100)" or "steps_to(eval/detection_rate>=0.5)".
 */
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/experiment.h"

namespace nmar::core {

/** One variant of an experiment: its base file and the overrides over it. */
struct SuiteVariant {
  std::string name;
  std::filesystem::path base;  ///< the experiment TOML (absolute or relative to the cwd)
  nlohmann::json set = nlohmann::json::object();  ///< patch: nested tables of new values
  std::string describe;  ///< the overrides as "train.loss=naive, ..." (for the report)
  nlohmann::json quick = nlohmann::json::object();  ///< the experiment's `quick` patch
  std::string from;        ///< "EXPERIMENT.VARIANT" to start from (empty: none)
  std::string undoInit;    ///< re-initialise UNDO with this strategy first (empty: no)
  int recoveryEvents = 0;  ///< > 0: evaluate recovery from this many forced deviations at the end
  int computeMatched = 0;  ///< > 0: the compute-matched comparison with up to N samples at the end
  int naturalSamples = 0;  ///< > 0: sample N completions per example and score natural errors
  bool evaluateOnly = false;  ///< no training: only the evaluations above, on the `from` checkpoint
};

/** An expected relation between two variant metrics: "A.metric < B.metric". */
struct SuiteExpectation {
  std::string text;  ///< as written
  std::string leftVariant, leftMetric, op, rightVariant, rightMetric;
};

/** One experiment of a suite. */
struct SuiteExperiment {
  std::string name, title, claim;
  std::string reading;  ///< Markdown: what the results mean (written after a run; may be empty)
  std::vector<std::string> metrics;  ///< metrics reported (canonical MetricSpec texts)
  std::vector<SuiteVariant> variants;
  std::vector<SuiteExpectation> expect;
};

/** A whole suite file. */
struct Suite {
  std::filesystem::path file;  ///< where it was read from
  std::string name, title, description;
  std::string footer;  ///< Markdown appended to the report (e.g. how to run other pipelines)
  int seeds = 3;
  int quickSeeds = 1;
  std::filesystem::path outDir;  ///< checkpoints of the runs (default: runs/suite-<name>)
  nlohmann::json defaults = nlohmann::json::object();  ///< patch over every run
  nlohmann::json quick = nlohmann::json::object();     ///< patch over every run with --quick
  std::vector<SuiteExperiment> experiments;
};

/**
 * Reads a suite file. Errors name the file and the field ("suite.toml: [[experiment]] 2
 * 'pollution': variant 'soft': field 'set': ..."), TOML syntax errors the line and column; a
 * missing base file, unknown fields, duplicate names and malformed expectations are errors.
 * Does not read the base files (planSuite() does).
 */
Suite loadSuite(const std::filesystem::path& file);

/** The same from TOML text; @p file names it in errors and anchors relative paths. */
Suite parseSuite(std::string_view toml, const std::filesystem::path& file);

/** How to expand a suite. */
struct SuitePlanOptions {
  bool quick = false;
  int seeds = 0;                  ///< 0: the suite's (quick: [quick].seeds); else seeds 1..N
  std::vector<std::string> only;  ///< experiment names to keep (empty: all); unknown ones: Error
  std::filesystem::path outDir;   ///< empty: the suite's out_dir
};

/** One run of the plan. */
struct PlannedRun {
  std::string experiment, variant;
  int seed = 1;
  ExperimentConfig config;        ///< resolved (overrides applied, validated), outDir set
  std::string hash;               ///< 16 hex digits of what determines the result (see configHash)
  std::vector<std::string> tags;  ///< suite:, exp:, variant:, seed:, size:, cfg: tags
  int fromIndex = -1;             ///< the plan index of the run it starts from (-1: none)
  std::string undoInit;           ///< SuiteVariant::undoInit
  int recoveryEvents = 0;         ///< SuiteVariant::recoveryEvents
  int computeMatched = 0;         ///< SuiteVariant::computeMatched
  int naturalSamples = 0;         ///< SuiteVariant::naturalSamples
  bool evaluateOnly = false;      ///< SuiteVariant::evaluateOnly
  bool dependencyOnly = false;    ///< planned only as a stage of a selected run (--only)
  std::string sizeName() const;
};

/**
 * Expands @p suite into runs (experiments, then variants, then seeds 1..N; a variant's `from`
 * stage before it), reading each base file, applying the overrides and validating the result (the
 * data, deviation and curriculum tables too). A staged run's [model] checkpoint is the planned
 * final checkpoint of its stage (checkpoint-<steps> in that run's folder; the runner takes the
 * path the store recorded), and its hash covers the stage's hash instead of that path. Errors name
 * the suite file, experiment, variant and override, followed by the base file's own message.
 */
std::vector<PlannedRun> planSuite(const Suite& suite, const SuitePlanOptions& options);

/**
 * SHA-256 (first 16 hex digits) of the config JSON without run.name and run.out_dir: two runs
 * with the same hash train the same model. Used to find finished runs to skip and to report.
 */
std::string configHash(const ExperimentConfig& config);

/** The same for a run that starts from the planned run whose hash is @p fromHash. */
std::string configHash(const ExperimentConfig& config, const std::string& fromHash);

/** Merges @p patch into @p target: objects merge key by key, everything else is replaced. */
void mergePatch(nlohmann::json& target, const nlohmann::json& patch);

}  // namespace nmar::core
