// libFuzzer target: a Hugging Face config.json from someone else's checkpoint.
// An accepted config must survive toJson() -> fromJson() unchanged; everything else must be a
// core::Error naming the file and field.
#include "fuzz_support.h"
#include "model/model_config.h"
#include "util/error.h"
#include "util/json_file.h"

using namespace nmar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json j = core::parseJsonText(text, "config.json");
    const core::ModelConfig config = core::ModelConfig::fromJson(j, "config.json");
    const nlohmann::json again = config.toJson();
    const core::ModelConfig reread = core::ModelConfig::fromJson(again, "round trip");
    fuzz::require(reread.toJson() == again, "toJson(fromJson(toJson(c))) == toJson(c)");
  } catch (const core::Error&) {
  }
  return 0;
}
