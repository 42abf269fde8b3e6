#include "train/train_checkpoint.h"

#include <algorithm>
#include <regex>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "train/optimizer_state.h"
#include "util/json_file.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

constexpr char kStateFile[] = "trainer_state.json";

/** checkpoint-<step> folders under @p outDir that hold a trainer state, oldest first. */
std::vector<std::pair<std::int64_t, fs::path>> checkpoints(const fs::path& outDir) {
  std::vector<std::pair<std::int64_t, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(outDir, ec)) return out;
  static const std::regex name("checkpoint-([0-9]+)");
  for (const auto& entry : fs::directory_iterator(outDir, ec)) {
    std::smatch m;
    const std::string leaf = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(leaf, m, name) &&
        fs::exists(entry.path() / kStateFile)) {
      out.emplace_back(std::stoll(m[1].str()), entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

fs::path latestCheckpoint(const fs::path& outDir) {
  auto all = checkpoints(outDir);
  return all.empty() ? fs::path() : all.back().second;
}

fs::path writeTrainCheckpoint(const fs::path& outDir, std::int64_t step, const Pretrained& p,
                              torch::optim::Optimizer& optimizer, const nlohmann::json& state,
                              int keep, const std::function<void(const fs::path&)>& extraFiles) {
  const fs::path final = outDir / ("checkpoint-" + std::to_string(step));
  const fs::path tmp = outDir / (".checkpoint-" + std::to_string(step) + ".tmp");
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw Error(outDir.string() + ": cannot create the output folder: " + ec.message());
  fs::remove_all(tmp, ec);
  savePretrained(tmp, p.model, p.tokenizer.get());
  try {
    saveOptimizerState(optimizer, tmp / kOptimizerStateFile);
    if (extraFiles) extraFiles(tmp);
  } catch (const Error&) {
    fs::remove_all(tmp, ec);
    throw;
  }
  writeJsonFile(tmp / kStateFile, state);
  if (fs::exists(final)) {
    const fs::path old = outDir / (".checkpoint-" + std::to_string(step) + ".old");
    fs::remove_all(old, ec);
    fs::rename(final, old);
    fs::rename(tmp, final);
    fs::remove_all(old, ec);
  } else {
    fs::rename(tmp, final);
  }
  if (keep > 0) {
    auto all = checkpoints(outDir);
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < all.size(); ++i) {
      fs::remove_all(all[i].second, ec);
    }
  }
  return final;
}

TrainCheckpoint readTrainCheckpoint(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": no such checkpoint folder");
  TrainCheckpoint ck;
  ck.state = readJsonFile(dir / kStateFile);
  if (!ck.state.is_object() || ck.state.value("format", "") != "nmar-trainer-state/1") {
    throw Error((dir / kStateFile).string() +
                ": not an nmar trainer state (format must be "
                "\"nmar-trainer-state/1\")");
  }
  for (const char* key : {"step", "rng", "source", "curriculum", "experiment"}) {
    if (!ck.state.contains(key)) {
      throw Error((dir / kStateFile).string() + ": missing field \"" + key + "\"");
    }
  }
  requireOptimizerState(dir);
  ck.weights = readCheckpointWeights(dir);
  return ck;
}

void checkResumable(const nlohmann::json& saved, const nlohmann::json& current,
                    const std::string& where) {
  static const std::vector<std::string> free = {
      "/train/steps", "/train/log_every", "/run/out_dir", "/run/name", "/eval", "/checkpoint",
      "/detector/tau", "/detector/eval_trigger", "/detector/eval_natural"};
  const nlohmann::json patch = nlohmann::json::diff(saved, current);
  for (const auto& op : patch) {
    const std::string path = op.value("path", "");
    const bool allowed = std::any_of(free.begin(), free.end(), [&](const std::string& f) {
      return path.compare(0, f.size(), f) == 0;
    });
    if (!allowed) {
      throw Error(where + ": the checkpoint was trained with a different experiment: " + path +
                  " differs (saved " +
                  (saved.contains(nlohmann::json::json_pointer(path))
                       ? saved.at(nlohmann::json::json_pointer(path)).dump()
                       : "nothing") +
                  ", now " +
                  (current.contains(nlohmann::json::json_pointer(path))
                       ? current.at(nlohmann::json::json_pointer(path)).dump()
                       : "nothing") +
                  ")");
    }
  }
}

}  // namespace nmar::core
