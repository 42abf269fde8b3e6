#pragma once
/**
 * @file Our own reader and writer of the safetensors format (Hugging Face): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON describing each tensor (dtype, shape, data_offsets) plus
 * an optional "__metadata__" string map, then the tensors' bytes with no gaps.
 */
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/tensor_map.h"

namespace nmar::core {

/** Largest header accepted (the limit of the reference implementation). */
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

/** Most dimensions a tensor may have (real checkpoints have at most a handful). */
inline constexpr std::size_t kSafetensorsMaxRank = 64;

/** One tensor as described by a safetensors header. */
struct SafetensorsEntry {
  std::string name;
  std::string dtype;                ///< safetensors name: "F32", "BF16", "I64", ...
  std::vector<std::int64_t> shape;  ///< empty for a 0-dim scalar
  std::uint64_t begin = 0;          ///< byte range within the data buffer (after the header)
  std::uint64_t end = 0;
};

/** A validated safetensors header. */
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        ///< ordered by byte range
  std::map<std::string, std::string> metadata;  ///< "__metadata__", empty when absent
  std::uint64_t dataStart = 0;                  ///< file offset of the data buffer (8 + N)
  std::uint64_t dataSize = 0;                   ///< bytes in the data buffer
};

/**
 * Parses and validates a header. @p json is the N header bytes, @p dataSize the number of bytes
 * that follow it, @p file only names the source in messages. Throws Error naming the file (and the
 * tensor or field) for: invalid UTF-8 or JSON, a header that is not an object, duplicate names,
 * an entry that is not an object or lacks dtype/shape/data_offsets or has other fields, wrong JSON
 * types, an unknown dtype, negative or non-integer dimensions, more than kSafetensorsMaxRank
 * dimensions, dimensions whose product overflows int64 (even with a zero among them), JSON nested
 * deeper than kMaxJsonDepth, reversed or out-of-buffer offsets,
 * a byte range whose length is not shape x dtype size, overlapping ranges, holes between ranges,
 * trailing bytes after the last tensor, and a "__metadata__" that is not a string-to-string map.
 */
SafetensorsHeader parseSafetensorsHeader(std::string_view json, std::uint64_t dataSize,
                                         const std::filesystem::path& file);

/**
 * Reads and validates the header of @p file without reading tensor data. Throws Error naming the
 * file when it is shorter than 8 bytes, when the header length is absurd (over
 * kSafetensorsMaxHeaderBytes) or runs past the end of the file, and for every parse error above.
 */
SafetensorsHeader readSafetensorsHeader(const std::filesystem::path& file);

/**
 * Reads every tensor of @p file into CPU tensors that own their memory (plain file reads, no
 * mmap). Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL. When @p metadata is
 * given it receives "__metadata__" (cleared first). Throws Error naming the file and the tensor for
 * any header error (see parseSafetensorsHeader), a dtype LibTorch cannot hold (U16, U32, U64,
 * F8_*), a BOOL byte other than 0 or 1, and a file that changes size while it is read.
 */
TensorMap readSafetensors(const std::filesystem::path& file,
                          std::map<std::string, std::string>* metadata = nullptr);

/**
 * Writes @p tensors and @p metadata to @p file atomically (temporary file in the same folder,
 * synced and renamed over @p file: a failure never leaves a partial file nor destroys an existing
 * one). Tensors may be non-contiguous or on any device; they are copied to contiguous CPU memory
 * one at a time. Header keys are sorted; data is laid out by decreasing element size, then by name,
 * so every tensor is aligned to its element size (the header is space-padded to a multiple of 8
 * bytes). Throws Error naming the file and the tensor for an undefined or non-strided tensor, a
 * dtype with no safetensors equivalent, the reserved name "__metadata__", names or metadata that
 * are not valid UTF-8, and I/O failures.
 */
void writeSafetensors(const std::filesystem::path& file, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/** Bytes a tensor takes in a safetensors file (numel x element size). */
std::uint64_t safetensorsByteSize(const at::Tensor& tensor);

}  // namespace nmar::core
