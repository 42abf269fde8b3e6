#include "util/device.h"

#include <algorithm>
#include <cctype>

#include <torch/cuda.h>

#include "util/error.h"

namespace nmar::core {
namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

c10::Device parseDevice(const std::string& text) {
  const std::string t = lower(text);
  if (t == "cpu") return c10::Device(c10::kCPU);
  if (t == "auto") {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (t == "cuda" || t.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (t.size() > 5) {
      const std::string digits = t.substr(5);
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit))
        throw Error("device '" + text + "': expected cuda:N with N a device index");
      index = std::stoi(digits);
    }
    if (!torch::cuda::is_available())
      throw Error("device '" + text + "': this LibTorch has no CUDA or no GPU is visible; use cpu");
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw Error("device '" + text + "': only " + std::to_string(torch::cuda::device_count()) +
                  " CUDA device(s) visible");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("device '" + text + "': expected cpu, cuda, cuda:N or auto");
}

c10::ScalarType parseDtype(const std::string& text) {
  const std::string t = lower(text);
  if (t == "fp32" || t == "float32" || t == "float") return c10::kFloat;
  if (t == "bf16" || t == "bfloat16") return c10::kBFloat16;
  if (t == "fp16" || t == "float16" || t == "half") return c10::kHalf;
  throw Error("dtype '" + text + "': expected fp32, bf16 or fp16");
}

std::string dtypeName(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat: return "fp32";
    case c10::kBFloat16: return "bf16";
    case c10::kHalf: return "fp16";
    default: return c10::toString(type);
  }
}

std::string deviceName(const c10::Device& device) { return device.str(); }

}  // namespace nmar::core
