#!/usr/bin/env bash
# Configures and builds one build tree. Usage: scripts/build.sh <build-dir> [extra cmake args...]
# NMAR_JOBS: parallel jobs (default: all cores); NMAR_TARGETS="a b": build only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"; shift
jobs="${NMAR_JOBS:-$(nproc)}"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$dir" -j "$jobs" ${NMAR_TARGETS:+--target $NMAR_TARGETS}
