#pragma once
/**
 * @file Which charts the training dashboard draws for a set of metric keys: keys that belong
 * together (the loss of each target group, each reward function's mean) share a chart; every
 * other key gets its own. Plain functions, any thread.
 */
#include <set>
#include <string>
#include <vector>

#include <QString>
#include <QStringList>

namespace nmar::widgets {

/** One chart: a title and the metric keys drawn in it (each run overlaid). */
struct ChartSpec {
  QString title;
  std::vector<std::string> keys;
  /** What a key adds to a curve's legend name within this chart ("prefix" for train/loss_prefix);
   *  empty for a one-key chart. */
  QString keyLabel(const std::string& key) const;
};

/**
 * The charts for @p keys in a stable order: first the grouped charts present ("train/loss by
 * group" from train/loss_<group>, "train/rewards by function (mean)" and "(std)" from
 * train/rewards/<name>/mean|std), then one chart per remaining key, train/ before eval/ before
 * the rest, alphabetically within.
 */
std::vector<ChartSpec> chartsForKeys(const std::set<std::string>& keys);

/** The chart titles shown by default (loss, loss by group, deviation likelihood, clean and
 *  recovery accuracy, UNDO rate, reward, rewards by function, KL, entropy, learning rate). */
const QStringList& defaultChartTitles();

}  // namespace nmar::widgets
