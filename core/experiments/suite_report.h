#pragma once
/**
 * @file The results of a suite read back from the run store (per experiment, variant and metric:
 * the final values of the finished runs over seeds, mean and sample standard deviation) and
 * written as Markdown: setup, one table per experiment, expectations checked, missing runs.
 */
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiments/suite.h"

namespace nmar::core {

class RunStore;

/** Mean and sample standard deviation (n - 1; 0 for one value) of the finite values. */
struct MeanStd {
  int n = 0;
  double mean = 0.0, std = 0.0;
};
MeanStd meanStd(const std::vector<double>& values);

/** One variant of an experiment as found in the store. */
struct VariantResult {
  std::string name, describe;
  std::vector<std::int64_t> runIds;                   ///< finished runs used, by seed
  std::vector<int> missingSeeds;                      ///< planned seeds without a finished run
  std::map<std::string, std::vector<double>> values;  ///< metric -> final value per run
  std::vector<double> wallSeconds;                    ///< per run: finished - started
};

/** One experiment's results. */
struct ExperimentResult {
  const SuiteExperiment* experiment = nullptr;
  std::vector<VariantResult> variants;
  nlohmann::json baseConfig;  ///< the first run's resolved config (for the setup section)
};

/** A whole suite's results. */
struct SuiteResults {
  std::string size;  ///< "full" or "quick"
  int seeds = 0;
  std::vector<ExperimentResult> experiments;
  std::vector<std::string> revisions, hosts;  ///< distinct code revisions and hosts of the runs
};

/**
 * Collects the results of @p plan (planSuite) from @p store: for each planned run the newest
 * finished run with its configuration hash (findFinishedRun), and of that run the value at the
 * highest step of each of the experiment's metrics (NaN when the run has none).
 */
SuiteResults collectResults(const Suite& suite, const std::vector<PlannedRun>& plan,
                            RunStore& store);

/**
 * "0.512 ± 0.031" (3 decimals), "1.23e-04 ± 5.00e-05" for a mean below 0.01 in magnitude (but
 * not 0), "n/a" when n = 0.
 */
std::string formatMeanStd(const MeanStd& m);

/**
 * The Markdown report: a title, how to regenerate it (@p command), the setup, per experiment its
 * claim, a table (variant, overrides, seeds, each metric as mean ± std, wall time per run), each
 * expectation with "holds" / "does not hold" / "within noise" and the numbers, the experiment's
 * `reading` and missing runs.
 * With a @p plotPrefix, each experiment that has a plot (renderExperimentSvg) links it as
 * plotFileName(plotPrefix, name); the caller writes the SVG files next to the report.
 */
std::string renderMarkdown(const Suite& suite, const SuiteResults& results,
                           const std::string& command, const std::string& plotPrefix = {});

/**
 * The file name of experiment @p name's plot when the report links plots with @p plotPrefix:
 * "<plotPrefix><name>.svg" (relative to the report).
 */
std::string plotFileName(const std::string& plotPrefix, const std::string& name);

}  // namespace nmar::core
