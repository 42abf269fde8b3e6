#pragma once
/**
 * @file A plot of one experiment's results as a standalone SVG (no Qt: the CLI renders it):
 * grouped bars, one group per metric, one bar per variant at its mean over seeds, a whisker of
 * ± one sample standard deviation and the seeds' values as dots. Only metrics whose values all
 * lie in [0, 1] (accuracies and rates) share the axis; the others stay in the table.
 */
#include <string>

#include "experiments/suite_report.h"

namespace nmar::core {

/** The SVG text, or "" when the experiment has no metric with values in [0, 1]. */
std::string renderExperimentSvg(const ExperimentResult& result);

}  // namespace nmar::core
