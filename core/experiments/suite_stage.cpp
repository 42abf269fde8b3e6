#include "experiments/suite_stage.h"

#include "experiments/suite_runner.h"
#include "model/pretrained.h"
#include "store/run_store.h"
#include "train/held_out.h"
#include "train/token_init.h"
#include "util/error.h"

namespace nmar::core {
namespace fs = std::filesystem;

fs::path stageCheckpoint(RunStore& store, const PlannedRun& from) {
  const std::optional<RunInfo> info = findFinishedRun(store, from);
  if (!info)
    throw Error("its stage " + from.config.name + " (cfg " + from.hash +
                ") has no finished run in the store");
  fs::path newest;
  for (const Artifact& a : store.artifacts(info->id)) {
    if (a.kind != "checkpoint") continue;
    const fs::path dir = fs::path(a.path).parent_path();
    if (fs::is_directory(dir)) newest = dir;  // artifacts come by id: the last one is the newest
  }
  if (newest.empty())
    throw Error("its stage " + from.config.name + " (run " + std::to_string(info->id) +
                ") has no checkpoint on disk any more");
  return newest;
}

TokenInitReport reinitUndoCheckpoint(const fs::path& from, const fs::path& to,
                                     const std::string& strategy, std::uint64_t seed) {
  Pretrained p = loadPretrained(from);
  if (!p.tokenizer) throw Error(from.string() + ": the checkpoint has no tokenizer files");
  TokenInitOptions options;
  options.strategy = parseTokenInitStrategy(strategy);
  options.seed = seed;
  const HeldOutText text = builtInHeldOutText(*p.tokenizer);
  const auto windows = heldOutWindows(*p.tokenizer, text.text, 64, 16);
  TokenInitReport report = initUndoToken(p, options, windows);
  if (fs::exists(to)) fs::remove_all(to);
  savePretrained(to, p.model, p.tokenizer.get());
  return report;
}

}  // namespace nmar::core
