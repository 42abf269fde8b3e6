#include "util/build_info.h"

#include <dlfcn.h>
#include <sqlite3.h>

#include <climits>
#include <cstdlib>
#include <sstream>

#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#ifndef NMAR_VERSION
#define NMAR_VERSION "0.0.0"
#endif
#ifndef NMAR_GIT_REVISION
#define NMAR_GIT_REVISION "unknown"
#endif

namespace nmar::core {

std::string activeBlas(std::string* path) {
  // LibTorch calls the generic libblas.so.3; whichever library provides sgemm_ wins.
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  if (!sym) {
    if (path) *path = "";
    return "none loaded (LibTorch uses its own kernels)";
  }
  Dl_info info{};
  std::string file;
  if (dladdr(sym, &info) && info.dli_fname) {
    char resolved[PATH_MAX];
    file = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
  }
  if (path) *path = file;
  using ConfigFn = char* (*)();
  if (auto cfg = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string flavour = file.find("pthread") != std::string::npos ? " (pthread)"
                          : file.find("openmp") != std::string::npos ? " (openmp)"
                          : file.find("serial") != std::string::npos ? " (serial)" : "";
    std::string config = cfg();  // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..."
    if (config.rfind("OpenBLAS ", 0) != 0) config = "OpenBLAS " + config;
    return config + flavour;
  }
  if (dlsym(RTLD_DEFAULT, "mkl_get_version")) return "Intel MKL";
  if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) return "BLIS";
  if (file.find("/blas/") != std::string::npos || file.find("libblas.so") != std::string::npos)
    return "reference BLAS (slow: install libopenblas0-pthread)";
  return "unknown BLAS";
}

BuildInfo buildInfo() {
  BuildInfo b;
  b.version = NMAR_VERSION;
  b.gitRevision = NMAR_GIT_REVISION;
  b.torchVersion = TORCH_VERSION;
  b.sqliteVersion = sqlite3_libversion();
  b.blas = activeBlas(&b.blasPath);
  b.cudaAvailable = torch::cuda::is_available();
  b.cudaDevices = b.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
  b.intraOpThreads = at::get_num_threads();
  return b;
}

std::string buildInfoText() {
  const BuildInfo b = buildInfo();
  std::ostringstream s;
  s << "nmar " << b.version << " (" << b.gitRevision << ")\n"
    << "LibTorch " << b.torchVersion << ", " << b.intraOpThreads << " threads\n"
    << "BLAS: " << b.blas << (b.blasPath.empty() ? "" : " [" + b.blasPath + "]") << "\n"
    << "SQLite " << b.sqliteVersion << "\n"
    << "CUDA: " << (b.cudaAvailable ? std::to_string(b.cudaDevices) + " device(s)" : "not available")
    << "\n";
  return s.str();
}

}  // namespace nmar::core
