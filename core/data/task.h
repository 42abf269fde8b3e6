#pragma once
/**
 * @file Built-in verifiable tasks (spec §7): generated deterministically from a seed, each with a
 * verifier that parses a model's output. Torch-free.
 */
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/example.h"

namespace nmar::core {

/**
 * A task: makes examples of a chosen difficulty and judges outputs. Every text uses only the
 * characters of CharTokenizer's default alphabet (printable ASCII and newline). Implementations
 * are immutable after construction, so one Task may be shared between threads (each with its own
 * generator).
 */
class Task {
 public:
  virtual ~Task();

  /** The task's name as makeTask() knows it ("addition", ...). */
  virtual std::string name() const = 0;

  /**
   * A new example of @p difficulty (in [minDifficulty(), maxDifficulty()]; Error otherwise).
   * Deterministic: the same generator state gives the same example on every platform.
   */
  virtual Example generate(std::mt19937_64& rng, int difficulty) const = 0;

  /** Judges @p output (the model's completion text, EOS excluded) against @p example's gold. */
  virtual Verdict verify(const Example& example, const std::string& output) const = 0;

  /** The smallest difficulty generate() accepts. */
  virtual int minDifficulty() const = 0;
  /** The largest difficulty generate() accepts. */
  virtual int maxDifficulty() const = 0;

  /**
   * The gold example for a prompt written in this task's format (e.g. "12+34=" for addition):
   * solves it. Throws Error "<task>: prompt \"...\": ..." saying what format was expected.
   */
  virtual Example fromPrompt(const std::string& prompt) const = 0;

  /** The task's parameters with their values (defaults included), as makeTask() reads them. */
  virtual nlohmann::json params() const = 0;

 protected:
  /** Throws Error "<name>: difficulty D is outside [min, max]" unless it is within. */
  void checkDifficulty(int difficulty) const;
};

/**
 * The task @p name with @p params (an object or null; see each task's header for its fields).
 * Throws Error "task 'x': unknown task (expected one of addition, sorting, chain)" or
 * "task 'addition': field 'operands': ..." for an unknown or ill-typed parameter.
 */
std::unique_ptr<Task> makeTask(const std::string& name, const nlohmann::json& params = {});

/** The names of the built-in tasks: {"addition", "sorting", "chain"}. */
std::vector<std::string> taskNames();

/**
 * Verifies @p output for any example: built-in tasks (by example.task) with their own verifier,
 * everything else (JSONL) with the example's Verifier (example.verifier, exact when null). Throws
 * Error naming the example's source when its verifier JSON is invalid.
 */
Verdict verifyExample(const Example& example, const std::string& output);

}  // namespace nmar::core
