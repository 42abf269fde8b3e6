#!/usr/bin/env bash
# README command 2: installs what is needed, builds and runs the whole test suite:
#  1. core alone, with the GUI switched off (proves the engine builds and tests without Qt);
#  2. everything (core, viz, widgets, app), with the Qt tests offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== [1/2] core without Qt (-DNMAR_BUILD_GUI=OFF) =="
scripts/build.sh build/core-only -DNMAR_BUILD_GUI=OFF
(cd build/core-only && ctest --output-on-failure -L core -j "${NMAR_JOBS:-$(nproc)}")

echo "== [2/2] full workbench (GUI on) =="
scripts/build.sh build/full -DNMAR_BUILD_GUI=ON
# core tests already ran in step 1 on identical objects (ccache); run the Qt suites here.
(cd build/full && QT_QPA_PLATFORM=offscreen ctest --output-on-failure -LE core -j "${NMAR_JOBS:-$(nproc)}")
