#pragma once
/**
 * @file GRPO over pruned decoding (spec §7, issue 6): per step, prompts from the experiment's data
 * source, a group of completions each sampled with the hard-mode pruned decoder from the current
 * policy (one after the other), rewards, group-normalised advantages (plus token credit), and
 * num_iterations clipped-surrogate updates whose forward uses the sampler's mask, positions and
 * processing, so that the first update's importance ratios are 1. Evaluation, checkpoints and
 * resume as in the SFT trainer. Torch header: not for viz/ or widgets/.
 */
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/pretrained.h"
#include "train/evaluator.h"
#include "train/experiment.h"
#include "train/grpo_rollout.h"
#include "train/train_observer.h"

namespace torch::optim {
class Optimizer;
}

namespace nmar::core {

class DistributedContext;
class ExampleSource;

/** What one GRPO step measured (means over the step's completions or loss tokens). */
struct GrpoStepStats {
  double loss = 0.0;       ///< loss of the last inner update
  double reward = 0.0;     ///< mean total reward
  double rewardStd = 0.0;  ///< sample std of the total rewards
  std::map<std::string, std::pair<double, double>> rewardByFunction;  ///< name -> (mean, std)
  double fracZeroStd = 0.0;       ///< groups whose rewards are all equal
  double kl = 0.0;                ///< mean k3 KL to the reference (0 with beta = 0)
  double entropy = 0.0;           ///< mean entropy of the sampled tokens' distributions
  double clipRatio = 0.0;         ///< clipped fraction, mean over the inner updates
  double firstRatioMaxDev = 0.0;  ///< max |ratio - 1| over loss tokens at the first update
  double completionLength = 0.0;  ///< steps per completion
  double undoPerCompletion = 0.0;
  double accuracy = 0.0;         ///< completions the verifier accepts
  double uselessUndoRate = 0.0;  ///< UNDOs that popped a right token / UNDOs (NaN: none)
  double gradNorm = 0.0;         ///< of the last inner update, before clipping
  double lr = 0.0;
  double seconds = 0.0;
  std::int64_t tokens = 0;  ///< loss tokens
};

/**
 * One GRPO job. Construction builds everything (policy, frozen reference when beta > 0, data,
 * optimiser) and checks the experiment (it must be a grpo experiment; Errors name the file and
 * field); nothing is written until run(). Use it on one thread.
 *
 * Data-parallel (a DistributedContext with more than one rank): every rank reads the step's
 * prompts_per_step prompts and samples the groups of its prompts (shardRange); rewards and
 * completion facts are summed over ranks so advantages and statistics are those of the whole
 * batch, each rank's loss is its share of the whole batch's loss and gradients are summed over
 * ranks. Rank 0 alone evaluates, writes checkpoints and reports metrics and traces (its own
 * groups); every rank resumes from the same checkpoint.
 */
class GrpoTrainer {
 public:
  /** Builds the job; with @p dist over several ranks, rank 0's weights are copied to all. */
  explicit GrpoTrainer(ExperimentConfig config, TrainObserver* observer = nullptr,
                       std::shared_ptr<DistributedContext> dist = nullptr);
  ~GrpoTrainer();
  GrpoTrainer(const GrpoTrainer&) = delete;
  GrpoTrainer& operator=(const GrpoTrainer&) = delete;

  /**
   * Continues from @p checkpoint (a checkpoint-N folder; empty: the newest under the output
   * folder): weights, optimiser, step and data order (the reference stays the starting model).
   * Throws Error naming the file when it is missing, corrupt or from a different experiment.
   */
  void resume(const std::filesystem::path& checkpoint = {});

  /**
   * Trains until train.steps, evaluating and checkpointing on schedule (a fresh run with
   * eval.every > 0 also evaluates the starting policy at step 0), and writes a final checkpoint.
   * Checks @p cancel once per step (a cancelled run checkpoints and ends cancelled). A NaN/Inf
   * loss, gradient or policy ends the run failed, naming the step and keeping the last good
   * checkpoint. Other Errors propagate.
   */
  TrainOutcome run(const std::atomic<bool>* cancel = nullptr);

  /** Samples, scores and trains on one batch (num_iterations updates); reports and returns it. */
  GrpoStepStats trainStep();

  /** Runs one evaluation now on the held-out examples (greedy decodes, useless UNDOs). */
  EvalResult evaluateNow(const std::atomic<bool>* cancel = nullptr);

  /** Writes a checkpoint of the current state to outDir/checkpoint-<step>; returns the folder. */
  std::filesystem::path saveCheckpoint();

  /** Where reports go from now on (may be null; not owned). */
  void setObserver(TrainObserver* observer) { m_observer = observer; }
  /** Free-form JSON kept in the checkpoints' trainer state (the CLI stores its run id here). */
  void setStateExtra(nlohmann::json extra) { m_extra = std::move(extra); }
  const nlohmann::json& stateExtra() const { return m_extra; }

  const ExperimentConfig& config() const { return m_config; }
  Transformer model() const { return m_pretrained.model; }
  const Tokenizer& tokenizer() const { return *m_pretrained.tokenizer; }
  std::int64_t undoId() const { return m_undoId; }
  std::int64_t eosId() const { return m_eosId; }
  std::int64_t step() const { return m_step; }
  const std::vector<Example>& heldOut() const { return m_heldOut; }
  /** This rank's completions of the last step, with rewards, credit and advantages. */
  const std::vector<Rollout>& lastRollouts() const { return m_rollouts; }
  /** How completions are sampled and scored (decode settings without the per-step seed). */
  const RolloutSettings& rolloutSettings() const { return m_rolloutSettings; }
  /** The data-parallel context (a single process when none was given). */
  DistributedContext& distributed() const { return *m_dist; }

 private:
  struct Batch;
  /** What the step's completions of every rank measured, in global completion order. */
  struct RolloutFacts {
    std::vector<double> totals;                   ///< total reward per completion
    std::vector<std::vector<double>> byFunction;  ///< per reward function, per completion
    double steps = 0, undos = 0, correct = 0, useless = 0;
    std::size_t firstLocal = 0;  ///< index of this rank's first completion
  };
  std::vector<Rollout> sample();
  RolloutFacts gatherFacts(const std::vector<Rollout>& rollouts);
  bool isMain() const;
  nlohmann::json stateJson() const;
  void report(const GrpoStepStats& stats, const Batch& batch);

  ExperimentConfig m_config;
  TrainObserver* m_observer;
  std::shared_ptr<DistributedContext> m_dist;
  Pretrained m_pretrained;
  Transformer m_reference{nullptr};
  std::int64_t m_undoId = -1;
  std::int64_t m_eosId = -1;
  std::unique_ptr<ExampleSource> m_source;
  std::unique_ptr<torch::optim::Optimizer> m_optimizer;
  std::vector<Example> m_heldOut;
  RolloutSettings m_rolloutSettings;
  std::vector<Rollout> m_rollouts;
  std::int64_t m_step = 0;
  nlohmann::json m_extra = nlohmann::json::object();
  std::filesystem::path m_lastCheckpoint;
  std::vector<GrpoStepStats> m_window;  ///< steps since the last metric row
};

}  // namespace nmar::core
