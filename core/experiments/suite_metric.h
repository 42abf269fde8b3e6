#pragma once
/**
 * @file What a suite reports per run and metric: the final value of a logged key, or a value
 * derived from the key's logged series. A metric is written as text in the suite file:
 *   eval/clean_acc                          the value at the highest step
 *   max(train/loss)  max(train/loss,1..100) the largest value (steps in the range, inclusive;
 *   min(...)  mean(...)                     "..100" or "50.." leave one end open)
 *   last_mean(train/accuracy,10)            the mean of the last 10 logged values
 *   steps_to(eval/detection_rate>=0.5)      the first step whose value passes the threshold
 *                                           (ops >= > <= <; NaN when no step does)
 * Spaces are ignored (the canonical text has none, so expectations can name the metric).
 */
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "store/run_record.h"

namespace nmar::core {

/** One reported metric (see the file comment for the syntax). */
struct MetricSpec {
  enum class Kind { kLast, kMax, kMin, kMean, kLastMean, kStepsTo };
  Kind kind = Kind::kLast;
  std::string text;  ///< canonical: as written without spaces
  std::string key;   ///< the logged key the value comes from
  std::int64_t fromStep = std::numeric_limits<std::int64_t>::min();  ///< max/min/mean range
  std::int64_t toStep = std::numeric_limits<std::int64_t>::max();
  int lastN = 0;           ///< last_mean
  std::string op;          ///< steps_to: >= > <= <
  double threshold = 0.0;  ///< steps_to

  /** A short column header: "clean_acc", "max loss (steps ..100)", "steps to detection_rate>=0.5".
   */
  std::string label() const;
  /** True for a value that is a step number (steps_to): never plotted with the rates. */
  bool isStep() const { return kind == Kind::kStepsTo; }
};

/**
 * Parses @p text. Throws Error "<where>: metric '<text>': ..." saying what was expected for an
 * unknown function, a missing key, a malformed range, count or threshold.
 */
MetricSpec parseMetricSpec(const std::string& text, const std::string& where);

/** The canonical form of @p text (spaces removed). */
std::string canonicalMetric(const std::string& text);

/**
 * The value of @p spec over @p series (points by increasing step, NaN values skipped). NaN when
 * nothing qualifies: an empty series or range, or a threshold no step passes.
 */
double evaluateMetric(const MetricSpec& spec, const std::vector<MetricPoint>& series);

}  // namespace nmar::core
