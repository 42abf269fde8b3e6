#include "checkpoint/safetensors.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <tuple>

#include <ATen/ATen.h>

#include "util/atomic_file.h"
#include "util/json_file.h"
#include "checkpoint/safetensors_format.h"
#include "util/error.h"
#include "util/log.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this reader/writer assumes a little-endian host");

namespace nmar::core {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double megabytesPerSecond(std::uint64_t bytes, Clock::time_point start) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0;
}

/** Throws unless every byte of a BOOL tensor is 0 or 1 (other values are undefined in LibTorch). */
void checkBoolBytes(const std::string& where, const at::Tensor& t) {
  const auto* p = static_cast<const unsigned char*>(t.data_ptr());
  const auto n = static_cast<std::size_t>(t.numel());
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] > 1)
      throw Error(where + ": BOOL element " + std::to_string(i) + " has byte value " +
                  std::to_string(p[i]) + ", expected 0 or 1");
  }
}

/** One tensor placed in the data buffer of a file being written. */
struct Placed {
  const std::string* name;
  const at::Tensor* tensor;
  const SafetensorsDtype* dtype;
  std::uint64_t bytes;
};

}  // namespace

std::uint64_t safetensorsByteSize(const at::Tensor& tensor) {
  return static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
}

TensorMap readSafetensors(const fs::path& file, std::map<std::string, std::string>* metadata) {
  const auto start = Clock::now();
  const SafetensorsHeader header = readSafetensorsHeader(file);
  const std::string what = safetensorsWhat(file.string());
  for (const SafetensorsEntry& e : header.entries) {
    if (!findSafetensorsDtype(e.dtype)->torchType)
      throw Error(what + ": tensor '" + e.name + "': dtype " + e.dtype +
                  " is valid safetensors but LibTorch has no such type");
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) throw Error(what + " cannot be opened for reading");
  if (std::fseek(in.get(), static_cast<long>(header.dataStart), SEEK_SET) != 0)
    throw Error(what + ": cannot seek to the data buffer");

  TensorMap tensors;
  for (const SafetensorsEntry& e : header.entries) {  // ordered by offset: one sequential pass
    const std::string where = what + ": tensor '" + e.name + "'";
    const c10::ScalarType type = *findSafetensorsDtype(e.dtype)->torchType;
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(type).device(at::kCPU));
    const std::uint64_t bytes = e.end - e.begin;
    if (bytes > 0 && std::fread(t.data_ptr(), 1, bytes, in.get()) != bytes)
      throw Error(where +
                  ": the file ended (or failed) while reading its data; was it truncated "
                  "while being read?");
    if (type == c10::kBool) checkBoolBytes(where, t);
    tensors.emplace(e.name, std::move(t));
  }
  if (std::fgetc(in.get()) != EOF) throw Error(what + ": the file grew while it was being read");
  if (metadata) *metadata = header.metadata;
  logger("core.checkpoint")
      ->debug("read {} ({} tensors, {} bytes, {:.0f} MB/s)", file.string(), tensors.size(),
              header.dataSize, megabytesPerSecond(header.dataSize, start));
  return tensors;
}

void checkWritableTensors(const std::string& file, const TensorMap& tensors) {
  const std::string what = "cannot write " + safetensorsWhat(file);
  for (const auto& [name, tensor] : tensors) {
    const std::string where = what + ": tensor '" + name + "'";
    if (name == "__metadata__") throw Error(where + ": the name is reserved for the metadata map");
    if (findInvalidUtf8(name) != std::string::npos)
      throw Error(what + ": a tensor name is not valid UTF-8");
    if (!tensor.defined()) throw Error(where + " is undefined (no data)");
    if (tensor.layout() != at::kStrided)
      throw Error(where + ": only dense (strided) tensors can be saved, not sparse or mkldnn ones");
    if (!safetensorsDtypeFor(tensor.scalar_type()))
      throw Error(where + ": dtype " + std::string(c10::toString(tensor.scalar_type())) +
                  " has no safetensors equivalent (LibTorch types that do: F64, F32, F16, BF16, "
                  "I64, I32, I16, I8, U8, BOOL)");
  }
}

void writeSafetensorsTo(AtomicFile& out, const TensorMap& tensors,
                        const std::map<std::string, std::string>& metadata) {
  const std::string file = out.target().string();
  checkWritableTensors(file, tensors);
  const std::string what = "cannot write " + safetensorsWhat(file);
  for (const auto& [key, value] : metadata) {
    if (findInvalidUtf8(key) != std::string::npos || findInvalidUtf8(value) != std::string::npos)
      throw Error(what + ": a '__metadata__' key or value is not valid UTF-8");
  }

  // Larger elements first: with an 8-aligned buffer start every tensor is then aligned to its
  // element size without padding (the format forbids holes).
  std::vector<Placed> placed;
  for (const auto& [name, tensor] : tensors)
    placed.push_back(
        {&name, &tensor, safetensorsDtypeFor(tensor.scalar_type()), safetensorsByteSize(tensor)});
  std::stable_sort(placed.begin(), placed.end(),
                   [](const Placed& a, const Placed& b) { return a.dtype->size > b.dtype->size; });

  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const Placed& p : placed) {
    header[*p.name] = {{"dtype", p.dtype->name},
                       {"shape", p.tensor->sizes().vec()},
                       {"data_offsets", {offset, offset + p.bytes}}};
    offset += p.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i) lengthBytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  out.write(lengthBytes, 8);
  out.write(text.data(), text.size());
  for (const Placed& p : placed) {
    if (p.bytes == 0) continue;
    at::Tensor t = p.tensor->detach();
    if (!t.device().is_cpu()) t = t.to(at::kCPU);
    t = t.resolve_conj().resolve_neg().contiguous();
    out.write(t.data_ptr(), p.bytes);
  }
}

void writeSafetensors(const fs::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const auto start = Clock::now();
  checkWritableTensors(file.string(), tensors);  // before creating any file
  AtomicFile out(file);
  writeSafetensorsTo(out, tensors, metadata);
  out.commit();
  logger("core.checkpoint")
      ->debug("wrote {} ({} tensors, {} bytes, {:.0f} MB/s)", file.string(), tensors.size(),
              out.size(), megabytesPerSecond(out.size(), start));
}

}  // namespace nmar::core
