#pragma once
/** @file What this build is and what it runs on: versions, BLAS, devices. */
#include <string>

namespace nmar::core {

/** Facts about the build and the machine, for `nmar --version` and the GUI's About box. */
struct BuildInfo {
  std::string version;        ///< project version, e.g. "0.1.0"
  std::string gitRevision;    ///< short commit hash at configure time, or "unknown"
  std::string torchVersion;   ///< LibTorch version the binary was built against
  std::string sqliteVersion;  ///< SQLite library version at run time
  std::string blas;           ///< the BLAS actually loaded, e.g. "OpenBLAS 0.3.21 (pthread)"
  std::string blasPath;       ///< the shared object that provides sgemm_, resolved
  bool cudaAvailable = false; ///< LibTorch was built with CUDA and a device is visible
  int cudaDevices = 0;
  int intraOpThreads = 0;     ///< torch::get_num_threads()
};

/** Collects the facts above. Cheap; safe from any thread. */
BuildInfo buildInfo();

/** Multi-line human-readable report of buildInfo(). */
std::string buildInfoText();

/**
 * Names the BLAS that serves single-precision GEMM in this process: OpenBLAS (with its
 * threading flavour), Intel MKL, BLIS, or "reference BLAS (slow)". Looks up `sgemm_` with dladdr.
 */
std::string activeBlas(std::string* path = nullptr);

}  // namespace nmar::core
