// libFuzzer target: a TOML experiment file (nmar train FILE). An experiment that parses must
// survive toJson() -> experimentFromJson() unchanged (the form stored with a run and compared on
// resume; read back under a name without a folder, as its paths are already resolved), and its
// curriculum must load or be a named error; everything else must be a core::Error naming the
// file, table and field.
#include "data/curriculum.h"
#include "fuzz_support.h"
#include "train/experiment.h"
#include "util/error.h"

using namespace nmar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  core::ExperimentConfig config;
  try {
    config = core::parseExperiment(text, "experiments/fuzz.toml");
  } catch (const core::Error&) {
    return 0;
  }
  // The default out_dir is runs/<name> as written ("a//b" stays so); read back it is normalised.
  const auto normalised = [](nlohmann::json j) {
    auto& out = j["run"]["out_dir"];
    out = std::filesystem::path(out.get<std::string>()).lexically_normal().string();
    return j;
  };
  const nlohmann::json stored = normalised(config.toJson());
  try {
    const core::ExperimentConfig again = core::experimentFromJson(stored, "stored-config");
    const nlohmann::json diff = nlohmann::json::diff(stored, normalised(again.toJson()));
    fuzz::require(diff.empty(), "experimentFromJson(toJson(c)) == c; differs: " + diff.dump());
  } catch (const core::Error& e) {
    fuzz::require(false, std::string("stored experiment rejected: ") + e.what());
  }
  try {
    (void)core::Curriculum::fromJson(config.curriculum, "experiments/fuzz.toml: [curriculum]");
  } catch (const core::Error&) {
  }
  return 0;
}
