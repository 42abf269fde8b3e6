#!/usr/bin/env bash
# README command 2: installs what is needed, builds and runs the whole test suite:
#  1. core alone, with the GUI switched off (proves the engine builds and tests without Qt);
#  2. everything (core, viz, widgets, app), with the Qt tests offscreen;
#  3. the core and CLI tests under address + undefined-behaviour sanitizers (g++);
#  4. the libFuzzer targets of the parsers of untrusted input, NMAR_FUZZ_SECONDS (default 30) each (clang).
# NMAR_HARDENING=0 skips steps 3 and 4 (e.g. for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs="${NMAR_JOBS:-$(nproc)}"

echo "== [1/4] core without Qt (-DNMAR_BUILD_GUI=OFF) =="
scripts/build.sh build/core-only -DNMAR_BUILD_GUI=OFF
# every test of this tree: the core suites and the gpu-labelled ones (they skip without CUDA)
(cd build/core-only && ctest --output-on-failure -j "$jobs")

echo "== [2/4] full workbench (GUI on) =="
# core tests already ran in step 1 on identical objects (ccache): build and run only the Qt suites.
scripts/build.sh build/full -DNMAR_BUILD_GUI=ON -DNMAR_BUILD_CORE_TESTS=OFF
(cd build/full && QT_QPA_PLATFORM=offscreen ctest --output-on-failure -LE core -j "$jobs")

if [ "${NMAR_HARDENING:-1}" = 0 ]; then exit 0; fi

# Every core and CLI test (label core) under address + undefined-behaviour sanitizers: the engine,
# decoding, training, the run store, the parsers of other people's files and their hardening
# regressions. Objects carry line tables only (-g1), so reports keep file:line and the tree stays
# a few GB. Run-time options and suppressions: cmake/NmarTargets.cmake, cmake/sanitizers/.
echo "== [3/4] address + undefined-behaviour sanitizers on the core tests (build/asan) =="
scripts/build.sh build/asan -DNMAR_BUILD_GUI=OFF -DNMAR_ENABLE_SANITIZERS=ON
(cd build/asan && ctest --output-on-failure -j "$jobs" -L core)

echo "== [4/4] fuzz targets (libFuzzer, clang; ${NMAR_FUZZ_SECONDS:-30} s each) (build/fuzz) =="
NMAR_TARGETS=nmar_fuzzers scripts/build.sh build/fuzz -DNMAR_BUILD_GUI=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DNMAR_USE_PCH=OFF -DNMAR_BUILD_FUZZERS=ON \
  -DNMAR_FUZZ_SECONDS="${NMAR_FUZZ_SECONDS:-30}"
(cd build/fuzz && ctest --output-on-failure -L fuzz -j "$jobs")
