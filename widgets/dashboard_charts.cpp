#include "widgets/dashboard_charts.h"

#include <map>

namespace nmar::widgets {
namespace {

const char* const kLossGroups = "train/loss by group";
const char* const kRewardMeans = "train/rewards by function (mean)";
const char* const kRewardStds = "train/rewards by function (std)";

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int rank(const std::string& key) {
  if (startsWith(key, "train/")) return 0;
  if (startsWith(key, "eval/")) return 1;
  return 2;
}

}  // namespace

QString ChartSpec::keyLabel(const std::string& key) const {
  if (keys.size() < 2) return {};
  std::string k = key;
  if (startsWith(k, "train/loss_")) return QString::fromStdString(k.substr(11));
  if (startsWith(k, "train/rewards/")) {
    k = k.substr(14);
    return QString::fromStdString(k.substr(0, k.rfind('/')));
  }
  return QString::fromStdString(k);
}

std::vector<ChartSpec> chartsForKeys(const std::set<std::string>& keys) {
  ChartSpec loss{QString::fromLatin1(kLossGroups), {}};
  ChartSpec means{QString::fromLatin1(kRewardMeans), {}};
  ChartSpec stds{QString::fromLatin1(kRewardStds), {}};
  std::map<std::pair<int, std::string>, std::string> single;
  for (const std::string& key : keys) {
    if (startsWith(key, "train/loss_")) {
      loss.keys.push_back(key);
    } else if (startsWith(key, "train/rewards/") && endsWith(key, "/mean")) {
      means.keys.push_back(key);
    } else if (startsWith(key, "train/rewards/") && endsWith(key, "/std")) {
      stds.keys.push_back(key);
    } else {
      single[{rank(key), key}] = key;
    }
  }
  std::vector<ChartSpec> out;
  for (ChartSpec* grouped : {&loss, &means, &stds})
    if (!grouped->keys.empty()) out.push_back(*grouped);
  for (const auto& [order, key] : single) out.push_back({QString::fromStdString(key), {key}});
  return out;
}

const QStringList& defaultChartTitles() {
  static const QStringList titles = {
      QStringLiteral("train/loss"),         QString::fromLatin1(kLossGroups),
      QStringLiteral("train/deviation_logprob"), QStringLiteral("eval/clean_acc"),
      QStringLiteral("eval/recovery_hard"), QStringLiteral("eval/recovery_soft"),
      QStringLiteral("eval/undo_per_seq"),  QStringLiteral("train/undo_per_completion"),
      QStringLiteral("train/reward"),       QString::fromLatin1(kRewardMeans),
      QStringLiteral("train/kl"),           QStringLiteral("train/entropy"),
      QStringLiteral("train/lr")};
  return titles;
}

}  // namespace nmar::widgets
