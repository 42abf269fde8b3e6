#pragma once
/** @file Run-time choice of device (cpu, cuda, cuda:N) and dtype (fp32, bf16, fp16). */
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace nmar::core {

/**
 * Parses "cpu", "cuda", "cuda:N" or "auto" (cuda when available, else cpu).
 * Throws Error naming the value when it is malformed or when CUDA is asked for but LibTorch has
 * no CUDA or the device index does not exist.
 */
c10::Device parseDevice(const std::string& text);

/** Parses "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16"; throws Error otherwise. */
c10::ScalarType parseDtype(const std::string& text);

/** "fp32", "bf16", "fp16" (or the Torch name for other types). */
std::string dtypeName(c10::ScalarType type);

/** "cpu", "cuda:0", ... */
std::string deviceName(const c10::Device& device);

}  // namespace nmar::core
