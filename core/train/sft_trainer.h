#pragma once
/**
 * @file Curriculum masked SFT (spec §4): the training job. Builds or loads the model, streams
 * examples with injected deviations through the curriculum, trains with the hard (or soft) mask
 * and the masked (or naive) loss, evaluates, checkpoints in the Hugging Face layout and resumes
 * exactly. Torch header: not for viz/ or widgets/.
 */
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "model/pretrained.h"
#include "train/detector.h"
#include "train/evaluator.h"
#include "train/experiment.h"
#include "train/train_observer.h"

namespace torch::optim {
class Optimizer;
}

namespace nmar::core {

class Curriculum;
class DistributedContext;
struct SftLoss;
class DeviationInjector;
class ExampleSource;

/** Timings of one optimiser step, for the throughput benchmark. */
struct StepTiming {
  double dataSeconds = 0.0;   ///< examples, encoding, injection
  double maskSeconds = 0.0;   ///< buildNmarBatch (masks, positions, weights)
  double modelSeconds = 0.0;  ///< forward, backward, clipping, optimiser (with commSeconds)
  double commSeconds = 0.0;   ///< data-parallel collectives (all-reduce of gradients and sums)
  std::int64_t tokens = 0;    ///< real (non-pad) tokens of this rank
};

/**
 * One SFT job. Construction builds everything and checks the experiment (Errors name the file and
 * field); nothing is written until run(). Use it on one thread.
 *
 * Data-parallel (a DistributedContext with more than one rank): every rank draws the same global
 * batch of train.batch_size examples (same data order and RNG as one process) and trains on its
 * rows shardRange(batch_size, rank, world); the loss of each rank is its share of the global
 * weighted token mean and gradients are summed over ranks, so a step equals the single-process
 * step on the whole batch. Rank 0 alone writes checkpoints, evaluates and reports metrics,
 * evaluations and checkpoints to the observer; every rank resumes from the same checkpoint.
 *
 * With [detector] (DetectorSpec) a deviation detector head is trained with the model: its
 * parameters join the optimiser, its binary cross-entropy on the stack labels of every batch
 * (weighted by [detector].weight) joins the loss, evaluations add its AUROC and decodes with its
 * trigger (detector_joint.h), and every checkpoint holds detector.safetensors +
 * detector_config.json beside the model (the layout `nmar decode --verifier` reads).
 */
class SftTrainer {
 public:
  /**
   * Builds model, tokenizer, data, curriculum and optimiser from @p config. With @p dist over
   * several ranks, rank 0's initial weights are copied to all; [train].batch_size must be at
   * least the number of ranks (an Error naming the field otherwise).
   */
  explicit SftTrainer(ExperimentConfig config, TrainObserver* observer = nullptr,
                      std::shared_ptr<DistributedContext> dist = nullptr);
  ~SftTrainer();
  SftTrainer(const SftTrainer&) = delete;
  SftTrainer& operator=(const SftTrainer&) = delete;

  /**
   * Continues from @p checkpoint (a checkpoint-N folder; empty: the newest under the output
   * folder): weights, optimiser, schedule position, data order, curriculum and RNG state. Throws
   * Error when there is none, when it is corrupt (naming the file), or when its experiment differs
   * from this one in anything that changes the result (naming the key).
   */
  void resume(const std::filesystem::path& checkpoint = {});

  /**
   * Trains until train.steps, evaluating and checkpointing on schedule, and writes a final
   * checkpoint. Checks @p cancel once per step: a cancelled run writes a checkpoint and ends
   * cancelled. A NaN/Inf loss or gradient ends the run failed with a message naming the step,
   * keeping the last good checkpoint. Other Errors propagate after the observer was told.
   */
  TrainOutcome run(const std::atomic<bool>* cancel = nullptr);

  /**
   * Runs one evaluation now on the held-out examples (rank 0; the other ranks wait and get a
   * result with only the detection rate, which the curriculum uses).
   */
  EvalResult evaluateNow(const std::atomic<bool>* cancel = nullptr);

  /** One optimiser step (what run() repeats); returns its timing. For tests and benchmarks. */
  StepTiming trainStep();

  /**
   * Writes a checkpoint of the current state to outDir/checkpoint-<step> (rank 0 writes, the
   * others wait for it); returns the folder.
   */
  std::filesystem::path saveCheckpoint();

  /** Where reports go from now on (may be null; not owned). */
  void setObserver(TrainObserver* observer) { m_observer = observer; }

  /** Free-form JSON kept in the checkpoints' trainer state (the CLI stores its run id here). */
  void setStateExtra(nlohmann::json extra) { m_extra = std::move(extra); }
  const nlohmann::json& stateExtra() const { return m_extra; }

  const ExperimentConfig& config() const { return m_config; }
  Transformer model() const { return m_pretrained.model; }
  /** The jointly trained deviation detector (null without [detector]). */
  DetectorHead detector() const { return m_detector; }
  const Tokenizer& tokenizer() const { return *m_pretrained.tokenizer; }
  std::int64_t undoId() const { return m_undoId; }
  std::int64_t step() const { return m_step; }
  /** The data-parallel context (a single process when none was given). */
  DistributedContext& distributed() const { return *m_dist; }
  const std::vector<Example>& heldOut() const { return m_heldOut; }
  /** Verifies an output for an example of this experiment's data. */
  Verdict verify(const Example& example, const std::string& output) const;

 private:
  struct Batch;
  Batch nextBatch();
  void buildModel();
  void buildData();
  nlohmann::json stateJson() const;
  void logStep(const SftLoss& loss, double gradNorm, double lr, const StepTiming& t);
  /** The model's parameters, then the detector's (what the optimiser and all-reduce see). */
  std::vector<at::Tensor> trainableParameters() const;

  bool isMain() const;

  ExperimentConfig m_config;
  TrainObserver* m_observer;
  std::shared_ptr<DistributedContext> m_dist;
  Pretrained m_pretrained;
  DetectorHead m_detector{nullptr};  ///< [detector]: the jointly trained head
  std::int64_t m_undoId = -1;
  std::int64_t m_eosId = -1;
  std::unique_ptr<ExampleSource> m_source;
  std::unique_ptr<DeviationInjector> m_injector;
  bool m_injectDeviations = false;   ///< the experiment's deviation kind is not "none"
  double m_deviationFraction = 0.0;  ///< fraction of examples that get deviations
  std::unique_ptr<Curriculum> m_curriculum;
  std::unique_ptr<torch::optim::Optimizer> m_optimizer;
  std::vector<Example> m_heldOut;
  std::function<Verdict(const Example&, const std::string&)> m_verify;
  std::mt19937_64 m_rng;
  std::int64_t m_step = 0;
  nlohmann::json m_extra = nlohmann::json::object();
  // Sums since the last metric row.
  struct Window;
  std::unique_ptr<Window> m_window;
  std::filesystem::path m_lastCheckpoint;
  const std::atomic<bool>* m_cancel = nullptr;  ///< run()'s flag, all-reduced with the gradients
  bool m_stopRequested = false;                 ///< some rank was cancelled (as of the last step)
};

/** The newest complete checkpoint-N folder under @p outDir (empty path: none). */
std::filesystem::path latestCheckpoint(const std::filesystem::path& outDir);

}  // namespace nmar::core
