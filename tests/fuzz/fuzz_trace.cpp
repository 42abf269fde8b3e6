// libFuzzer target: trace JSON from someone else (`nmar replay`, the GUI's trace replay). A trace
// that parses must be valid, render step by step, and survive write -> read unchanged; everything
// else must be a core::Error naming the source, step and field. The same bytes are also read as a
// JSONL file of traces.
#include "fuzz_support.h"
#include "trace/trace_io.h"
#include "trace/trace_render.h"
#include "util/error.h"

using namespace nmar;

namespace {

void replay(const core::Trace& trace) {
  core::StackTextTracker tracker(trace.promptText);
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const std::string popped = tracker.apply(trace.steps[i], static_cast<int>(i));
    (void)core::renderStep(trace.steps[i], static_cast<int>(i) + 1, tracker.stackText(), true,
                           popped);
    (void)core::stepStateJson(trace.steps[i], static_cast<int>(i), tracker, popped);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const core::Trace trace = core::parseTrace(text, "trace.json");
    replay(trace);
    const std::string line = core::traceToJsonLine(trace);
    const core::Trace again = core::parseTrace(line, "round trip");
    fuzz::require(core::traceToJsonLine(again) == line, "trace JSON round trip");
  } catch (const core::Error&) {
  }
  const std::filesystem::path file = fuzz::scratchDir() / "traces.jsonl";
  fuzz::writeBytes(file, data, size);
  try {
    for (const core::Trace& trace : core::readTraces(file)) replay(trace);
  } catch (const core::Error&) {
  }
  return 0;
}
