#include "store/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "util/error.h"

namespace nmar::core {
namespace {

/** An EVP digest context set up for SHA-256; throws Error (naming @p what) if OpenSSL fails. */
class Sha256 {
 public:
  explicit Sha256(const std::string& what) : m_what(what), m_ctx(EVP_MD_CTX_new()) {
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1)
      throw Error(m_what + ": OpenSSL could not start a SHA-256 digest");
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(m_ctx.get(), data, size) != 1)
      throw Error(m_what + ": OpenSSL SHA-256 update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_ctx.get(), digest, &size) != 1)
      throw Error(m_what + ": OpenSSL SHA-256 finalisation failed");
    static const char* kHex = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::string m_what;
  std::unique_ptr<EVP_MD_CTX, Free> m_ctx;
};

}  // namespace

std::string sha256Hex(std::string_view bytes) {
  Sha256 h("sha256");
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

FileDigest sha256File(const std::filesystem::path& path) {
  const std::string what = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(what + ": cannot hash: is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + ": cannot read: " + std::strerror(errno));
  Sha256 h(what);
  FileDigest d;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) {
      h.update(buf.data(), static_cast<std::size_t>(n));
      d.bytes += n;
    }
  }
  if (in.bad()) throw Error(what + ": read error while hashing");
  d.sha256 = h.hex();
  return d;
}

}  // namespace nmar::core
