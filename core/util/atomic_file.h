#pragma once
/** @file A file written under a temporary name and renamed into place once complete. */
#include <cstddef>
#include <filesystem>

namespace nmar::core {

/**
 * Writes a file atomically: the bytes go to a hidden temporary file in the target's folder
 * (".<name>.tmp-<pid>-<n>"); commit() flushes it to disk and renames it over the target, so readers
 * see the old file or the complete new one, never a partial file. Destroying an AtomicFile that was
 * not committed (an exception, an early return) removes the temporary file and leaves the target
 * untouched. Every failure throws Error naming the target and the system's reason.
 * Not thread-safe; one writer per object.
 */
class AtomicFile {
 public:
  /** Creates the temporary file beside @p target. The folder must exist. */
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /** Appends @p size bytes. */
  void write(const void* data, std::size_t size);

  /** Flushes the data to disk (fsync) and closes the temporary file; idempotent. */
  void finish();

  /** finish(), then renames the temporary file over the target and syncs the folder. */
  void commit();

  /**
   * Gives up ownership of the temporary file (after finish()): it is no longer removed on
   * destruction. Used when the temporary name itself has been published (e.g. in an index).
   */
  void keep();

  /** Closes and removes the temporary file now (no sync); the target is untouched. */
  void discard();

  const std::filesystem::path& target() const { return m_target; }
  const std::filesystem::path& tempPath() const { return m_temp; }
  /** Bytes written so far. */
  std::size_t size() const { return m_size; }

 private:
  std::filesystem::path m_target;
  std::filesystem::path m_temp;
  int m_fd = -1;
  std::size_t m_size = 0;
  bool m_owned = true;
};

/** Flushes the directory entry changes of @p dir to disk (best effort: failures are logged). */
void syncDirectory(const std::filesystem::path& dir);

/** A fresh temporary path beside @p target (".<name>.tmp-<pid>-<n>"); nothing is created. */
std::filesystem::path temporaryPathFor(const std::filesystem::path& target);

}  // namespace nmar::core
