#pragma once
/**
 * @file Experiments as files: a TOML experiment config (model, data, deviations, curriculum,
 * optimiser, evaluation, checkpoints, seed) read into one value type, with every field checked.
 */
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nmar/masks.h"
#include "train/grpo_settings.h"
#include "train/lr_schedule.h"

namespace nmar::core {

/** Where the model comes from: a checkpoint folder, or a preset trained from scratch. */
struct ModelSpec {
  std::filesystem::path checkpoint;  ///< empty: build `family`/`preset` from scratch
  /**
   * From scratch only: the tokenizer whose vocabulary the new model gets (a tokenizer.json, or a
   * folder loadTokenizer() reads, e.g. a checkpoint's); empty: the char tokenizer. <|undo|> is
   * added when the tokenizer lacks it.
   */
  std::filesystem::path tokenizer;
  std::string family = "llama";      ///< gpt2 | llama (from scratch)
  std::string preset = "tiny";       ///< tiny | small (from scratch)
  nlohmann::json overrides = nlohmann::json::object();  ///< config.json fields over the preset
  std::string undoInit = "mean";  ///< strategy when the model has no UNDO token yet
};

/** Optimiser and schedule. */
struct OptimSpec {
  LrSchedule schedule;  ///< peak lr, warmup, decay, min ratio; totalSteps = train.steps
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weightDecay = 0.01;
  double clipNorm = 1.0;  ///< 0: no clipping
};

/** The training loop. */
struct TrainSpec {
  std::int64_t steps = 1000;  ///< optimiser steps
  int batchSize = 32;         ///< sequences per micro-batch
  int accumulation = 1;       ///< micro-batches per optimiser step
  AttentionMode mode = AttentionMode::kHard;
  bool naive = false;       ///< naive SFT: deviation targets get weight 1 (spec §4)
  bool promptLoss = false;  ///< completion-only loss off
  int logEvery = 10;        ///< metric rows every N steps
};

/** Periodic evaluation. */
struct EvalSpec {
  std::int64_t every = 250;  ///< 0: only at the end
  int examples = 64;         ///< held-out examples per evaluation
  int maxNewTokens = 0;      ///< 0: 2 x the longest gold completion + 8
  int traces = 4;            ///< example decode traces kept per evaluation
  std::uint64_t seed = 0;    ///< held-out stream seed (default: run seed + 1,000,003)
};

/** Checkpoints in the Hugging Face layout. */
struct CheckpointSpec {
  std::int64_t every = 0;  ///< 0: only at the end
  int keep = 2;            ///< newest checkpoints kept (0 keeps all)
};

/**
 * [detector]: a deviation detector (issue 12) trained jointly with masked SFT: a head on the
 * model's final hidden states with a binary cross-entropy auxiliary loss on the stack labels of
 * every training sequence (1: a pushed token a later UNDO pops; 0: a token that survives). SFT
 * runs only; absent table: no detector.
 */
struct DetectorSpec {
  bool enabled = false;     ///< the table is present
  double weight = 0.5;      ///< loss = SFT loss + weight x detector loss
  int innerSize = 0;        ///< 0: linear head; > 0: 2-layer MLP with this many units
  double tau = 0.5;         ///< trigger threshold of the evaluations (and the saved default)
  bool detach = false;      ///< true: no gradient from the detector loss into the model
  bool balance = true;      ///< positives weighted by negatives/positives of the whole batch
  bool evalTrigger = true;  ///< evaluations also decode with the trigger (and verifier-only)
  bool evalNatural = true;  ///< evaluations also score the model's own (natural) errors

  /** {"weight", "inner_size", "tau", "detach", "balance", "eval_trigger", "eval_natural"}. */
  nlohmann::json toJson() const;
};

/** A whole experiment. */
struct ExperimentConfig {
  std::string name = "experiment";
  /** [run].kind: "sft" (masked SFT) or "grpo"; a [grpo] or [rewards] table implies "grpo". */
  std::string kind = "sft";
  std::uint64_t seed = 0;
  std::string device = "cpu";    ///< cpu | cuda | cuda:N
  std::string dtype = "fp32";    ///< fp32 | bf16 (bf16 autocast on CUDA only)
  std::filesystem::path outDir;  ///< checkpoints and state; default runs/<name>
  std::filesystem::path source;  ///< the file it came from (relative paths resolve against it)
  ModelSpec model;
  nlohmann::json data;        ///< training example source (see makeExampleSource)
  nlohmann::json evalData;    ///< held-out source; default: `data` with the eval seed
  nlohmann::json deviation;   ///< DeviationSettings
  nlohmann::json curriculum;  ///< Curriculum
  OptimSpec optim;
  TrainSpec train;
  EvalSpec eval;
  CheckpointSpec checkpoint;
  GrpoSettings grpo;       ///< [grpo] (grpo runs only)
  RewardSettings rewards;  ///< [rewards] (grpo runs only)
  DetectorSpec detector;   ///< [detector] (sft runs only)

  /** True for a GRPO run. */
  bool isGrpo() const { return kind == "grpo"; }

  /**
   * The whole config as JSON (stored with the run; also the resume check). An SFT config has no
   * kind, grpo or rewards keys (so SFT checkpoints written before GRPO existed still resume), and
   * a detector key only when [detector] is present.
   */
  nlohmann::json toJson() const;
};

/**
 * Reads an experiment TOML file. Unknown tables or keys, wrong types and out-of-range values are
 * Errors of the form "FILE: [section].key: what was expected"; TOML syntax errors name the line
 * and column. Relative paths in the file resolve against the file's folder. A grpo run rejects
 * the tables and [train] keys it does not use ([deviation], [curriculum], batch_size, ...).
 */
ExperimentConfig loadExperiment(const std::filesystem::path& file);

/** The same from TOML text (@p source names it in errors and anchors relative paths). */
ExperimentConfig parseExperiment(std::string_view toml, const std::filesystem::path& source);

/**
 * TOML text as JSON (tables become objects; dates and times their TOML text); a syntax error is
 * an Error "SOURCE:LINE:COLUMN: TOML syntax error: ...". The form experimentFromJson() reads.
 */
nlohmann::json tomlTextToJson(std::string_view toml, const std::filesystem::path& source);

/** The same from the JSON form (toJson()), e.g. a config stored with a run. */
ExperimentConfig experimentFromJson(const nlohmann::json& json, const std::string& where);

}  // namespace nmar::core
