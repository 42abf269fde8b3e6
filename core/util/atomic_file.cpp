#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {

std::string systemReason(int error) { return std::strerror(error); }

}  // namespace

fs::path temporaryPathFor(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  const std::string name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                           "-" + std::to_string(counter++);
  return target.parent_path() / name;
}

void syncDirectory(const fs::path& dir) {
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    logger("core.checkpoint")
        ->debug("cannot sync folder '{}': {}", d.string(), systemReason(errno));
  }
  if (fd >= 0) ::close(fd);
}

AtomicFile::AtomicFile(fs::path target) : m_target(std::move(target)) {
  if (m_target.filename().empty())
    throw Error("cannot write '" + m_target.string() + "': not a file name");
  for (int attempt = 0; attempt < 100 && m_fd < 0; ++attempt) {
    m_temp = temporaryPathFor(m_target);
    m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (m_fd < 0 && errno != EEXIST) break;
  }
  if (m_fd < 0) {
    throw Error("cannot write '" + m_target.string() + "': cannot create temporary file '" +
                m_temp.string() + "': " + systemReason(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (m_owned && !m_temp.empty()) ::unlink(m_temp.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (m_fd < 0) throw Error("cannot write '" + m_target.string() + "': file already closed");
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    // Linux writes at most ~2 GiB per call; larger requests come back short and loop.
    const ssize_t n = ::write(m_fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write '" + m_target.string() + "': " + systemReason(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  m_size += size;
}

void AtomicFile::finish() {
  if (m_fd < 0) return;
  const int fd = m_fd;
  m_fd = -1;
  const bool synced = ::fsync(fd) == 0;
  const int syncError = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    throw Error("cannot write '" + m_target.string() +
                "': " + systemReason(synced ? errno : syncError));
  }
}

void AtomicFile::commit() {
  if (m_temp.empty()) throw Error("cannot write '" + m_target.string() + "': already committed");
  finish();
  if (::rename(m_temp.c_str(), m_target.c_str()) != 0) {
    throw Error("cannot write '" + m_target.string() + "': cannot rename temporary file '" +
                m_temp.string() + "' into place: " + systemReason(errno));
  }
  m_temp.clear();
  syncDirectory(m_target.parent_path());
}

void AtomicFile::keep() {
  finish();
  m_owned = false;
}

void AtomicFile::discard() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
  if (!m_temp.empty()) ::unlink(m_temp.c_str());
  m_temp.clear();
}

}  // namespace nmar::core
