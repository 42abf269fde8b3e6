#pragma once
/** @file Internals shared by the safetensors reader, writer and the sharded checkpoint writer. */
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <c10/core/ScalarType.h>

#include "util/tensor_map.h"

namespace nmar::core {

class AtomicFile;

/** One safetensors dtype: its name, its element size and the LibTorch type that holds it. */
struct SafetensorsDtype {
  const char* name;
  std::uint64_t size;
  std::optional<c10::ScalarType> torchType;  ///< nullopt: valid in the format, not in LibTorch
};

/** The dtype called @p name ("F32", ...), or nullptr when the format has no such dtype. */
const SafetensorsDtype* findSafetensorsDtype(std::string_view name);

/** The dtype that stores LibTorch's @p type, or nullptr when the format has none. */
const SafetensorsDtype* safetensorsDtypeFor(c10::ScalarType type);

/** "BOOL, U8, I8, ..." for messages. */
std::string safetensorsDtypeList();

/** "safetensors file '<file>'", the prefix of every message about @p file. */
std::string safetensorsWhat(const std::string& file);

/**
 * Validates @p tensors and @p metadata for writing and writes the whole file to @p out (without
 * committing it). Errors name out.target().
 */
void writeSafetensorsTo(AtomicFile& out, const TensorMap& tensors,
                        const std::map<std::string, std::string>& metadata);

/** Throws Error naming @p file and the tensor unless writeSafetensorsTo() accepts @p tensors. */
void checkWritableTensors(const std::string& file, const TensorMap& tensors);

}  // namespace nmar::core
