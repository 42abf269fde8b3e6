// libFuzzer target: a whole .safetensors file from someone else, read by our reader.
// Accepted files must describe tensors whose bytes match the header; everything else must be a
// core::Error (a message naming the file), never a crash, a leak or another exception.
#include <ATen/ATen.h>

#include "checkpoint/safetensors.h"
#include "fuzz_support.h"
#include "util/error.h"

using namespace nmar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = fuzz::scratchDir() / "model.safetensors";
  fuzz::writeBytes(file, data, size);
  core::SafetensorsHeader header;
  try {
    header = core::readSafetensorsHeader(file);
  } catch (const core::Error&) {
    return 0;
  }
  fuzz::require(header.dataStart + header.dataSize == size, "header + data == file size");
  try {
    std::map<std::string, std::string> metadata;
    const core::TensorMap tensors = core::readSafetensors(file, &metadata);
    fuzz::require(tensors.size() == header.entries.size(), "one tensor per entry");
    fuzz::require(metadata == header.metadata, "metadata as in the header");
    for (const core::SafetensorsEntry& e : header.entries) {
      const at::Tensor& t = tensors.at(e.name);
      fuzz::require(t.sizes().vec() == e.shape, "tensor shape as in the header");
      fuzz::require(core::safetensorsByteSize(t) == e.end - e.begin, "tensor bytes as in header");
    }
  } catch (const core::Error&) {
    // dtypes LibTorch cannot hold, BOOL bytes other than 0/1: named errors.
  }
  return 0;
}
