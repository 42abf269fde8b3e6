#pragma once
/** @file SHA-256 of bytes and of files (OpenSSL's EVP API), for artifact records. */
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace nmar::core {

/** The SHA-256 of @p bytes as 64 lowercase hex digits. Thread-safe. */
std::string sha256Hex(std::string_view bytes);

/** A file's SHA-256 (lowercase hex) and size in bytes. */
struct FileDigest {
  std::string sha256;
  std::int64_t bytes = 0;
};

/**
 * Hashes the file @p path, streaming it in 1 MiB blocks. Throws Error "<path>: cannot read: ..."
 * when it is missing, a folder or unreadable. Thread-safe.
 */
FileDigest sha256File(const std::filesystem::path& path);

}  // namespace nmar::core
