#pragma once
/**
 * @file Endless, seeded, resumable streams of examples for training and evaluation: generated
 * from a task (TaskSource) or drawn from a dataset, reshuffled every epoch (DatasetSource).
 */
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/example.h"
#include "data/task.h"

namespace nmar::core {

/**
 * An endless, seeded, resumable stream of examples. The same seed gives the same stream; after
 * restore(state()) the stream continues exactly as the original would have. Not thread-safe.
 */
class ExampleSource {
 public:
  virtual ~ExampleSource();
  /** The next example (never ends). */
  virtual Example next() = 0;
  /** Data-order and RNG state, for resume: a JSON object that restore() accepts. */
  virtual nlohmann::json state() const = 0;
  /**
   * Continues from @p state (written by state() of a source of the same kind over the same
   * data). Throws Error "example source state: ..." when it does not fit; the source is unchanged
   * then.
   */
  virtual void restore(const nlohmann::json& state) = 0;
  /** One line for logs and the run store ("addition, difficulty 3..4, seed 7"). */
  virtual std::string describe() const = 0;
};

/**
 * Generates examples from a task: each next() draws a difficulty uniformly in
 * [minDifficulty, maxDifficulty], then task->generate() with the same generator (seeded with
 * @p seed). state(): {"kind": "task", "task", "seed", "min_difficulty", "max_difficulty",
 * "count", "rng"}.
 */
class TaskSource final : public ExampleSource {
 public:
  /** Throws Error when @p task is null or the range is empty or outside the task's. */
  TaskSource(std::shared_ptr<const Task> task, std::uint64_t seed, int minDifficulty,
             int maxDifficulty);

  // ExampleSource (see above for the contracts).
  Example next() override;
  nlohmann::json state() const override;
  /** Also requires the same task name and difficulty range. */
  void restore(const nlohmann::json& state) override;
  std::string describe() const override;

  /** The task examples come from. */
  const Task& task() const { return *m_task; }
  /** Examples drawn so far. */
  std::uint64_t count() const { return m_count; }

 private:
  std::shared_ptr<const Task> m_task;
  std::uint64_t m_seed;
  int m_min, m_max;
  std::mt19937_64 m_rng;
  std::uint64_t m_count = 0;
};

/**
 * Cycles through a fixed set of examples in a new random order every epoch: the order of epoch e
 * is a Fisher-Yates shuffle with a generator seeded from (seed, e), so any position of the stream
 * can be restored without replaying it. state(): {"kind": "dataset", "seed", "epoch", "index",
 * "size", "fingerprint"}; restore() requires the same size and fingerprint (a hash of the
 * examples' texts) and adopts the state's seed.
 */
class DatasetSource final : public ExampleSource {
 public:
  /** Throws Error when @p examples is empty. @p name is shown by describe() (e.g. the file). */
  DatasetSource(std::vector<Example> examples, std::uint64_t seed, std::string name = "dataset");

  // ExampleSource (see above for the contracts).
  Example next() override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;
  std::string describe() const override;

  /** The examples in file order. */
  const std::vector<Example>& examples() const { return m_examples; }
  /** The current epoch (0-based). */
  std::uint64_t epoch() const { return m_epoch; }
  /** The index of the next example within the current epoch's order. */
  std::uint64_t index() const { return m_index; }

 private:
  void shuffle();

  std::vector<Example> m_examples;
  std::uint64_t m_seed;
  std::string m_name;
  std::string m_fingerprint;
  std::uint64_t m_epoch = 0, m_index = 0;
  std::vector<std::size_t> m_order;  // the order of m_epoch
};

/**
 * A source from a config section (one of):
 * - {"task": "addition" | "sorting" | "chain", "difficulty": N} or {"task": ..., "min_difficulty":
 *   A, "max_difficulty": B} (defaults: the task's whole range), optional "params": {...} for the
 *   task;
 * - {"jsonl": "data/train.jsonl"} (relative paths are taken from @p baseDir).
 * Throws Error "<where>: field 'min_difficulty': ..." naming the field for an unknown or ill-typed
 * field, both or neither of task/jsonl, difficulty with min/max, a range outside the task's; and
 * the dataset's own errors (file:line).
 */
std::unique_ptr<ExampleSource> makeExampleSource(const nlohmann::json& cfg, std::uint64_t seed,
                                                 const std::filesystem::path& baseDir,
                                                 const std::string& where = "data");

}  // namespace nmar::core
