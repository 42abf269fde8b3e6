#include "data/task.h"

#include <map>

#include "data/addition_task.h"
#include "data/chain_task.h"
#include "data/sorting_task.h"
#include "data/verifier.h"
#include "util/error.h"

namespace nmar::core {

Task::~Task() = default;

void Task::checkDifficulty(int difficulty) const {
  if (difficulty < minDifficulty() || difficulty > maxDifficulty())
    throw Error(name() + ": difficulty " + std::to_string(difficulty) + " is outside [" +
                std::to_string(minDifficulty()) + ", " + std::to_string(maxDifficulty()) + "]");
}

std::vector<std::string> taskNames() { return {"addition", "sorting", "chain"}; }

std::unique_ptr<Task> makeTask(const std::string& name, const nlohmann::json& params) {
  if (name == "addition") return std::make_unique<AdditionTask>(params);
  if (name == "sorting") return std::make_unique<SortingTask>(params);
  if (name == "chain") return std::make_unique<ChainTask>(params);
  std::string known;
  for (const std::string& n : taskNames()) known += (known.empty() ? "" : ", ") + n;
  throw Error("task '" + name + "': unknown task (expected one of " + known + ")");
}

Verdict verifyExample(const Example& example, const std::string& output) {
  // Built-in verifiers do not depend on task parameters: one default instance of each serves.
  static const std::map<std::string, std::shared_ptr<const Task>> kTasks = [] {
    std::map<std::string, std::shared_ptr<const Task>> m;
    for (const std::string& n : taskNames()) m.emplace(n, makeTask(n));
    return m;
  }();
  if (const auto it = kTasks.find(example.task); it != kTasks.end())
    return it->second->verify(example, output);
  if (example.verifier.is_null()) return Verifier().verify(example, output);
  const std::string where = example.source.empty() ? "example" : example.source;
  return Verifier::fromJson(example.verifier, where, "verifier").verify(example, output);
}

}  // namespace nmar::core
