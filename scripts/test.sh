#!/usr/bin/env bash
# README command 2: installs what is needed, builds and runs the whole test suite:
#  1. core alone, with the GUI switched off (proves the engine builds and tests without Qt);
#  2. everything (core, viz, widgets, app), with the Qt tests offscreen;
#  3. the parsers of untrusted input under address + undefined-behaviour sanitizers (g++);
#  4. the libFuzzer targets of those parsers, NMAR_FUZZ_SECONDS (default 30) each (clang).
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

# The tests of the modules that read other people's files (safetensors checkpoints, tokenizers,
# traces) and their hardening regressions, built with only the core modules they link (util,
# checkpoint, tokenizer, nmar, trace). Not the whole of core: the LibTorch-heavy modules (model,
# decode, train) would triple the sanitizer build; config.json, TOML experiments and JSONL datasets
# run under the same sanitizers in the fuzz targets of step 4. Run-time options and suppressions:
# cmake/NmarTargets.cmake, cmake/sanitizers/.
ASAN_TESTS=(
  test_checkpoint_json_file test_safetensors test_safetensors_malformed test_checkpoint
  test_tokenizer_errors test_tokenizer_byte_level test_tokenizer_sentencepiece test_tokenizer_char
  test_tokenizer_save test_tokenizer_roundtrip test_tokenizer_pipeline test_tokenizer_vectors
  test_stack_machine test_trace test_trace_io
  test_hardening_json test_hardening_safetensors test_hardening_tokenizer
)
echo "== [3/4] address + undefined-behaviour sanitizers on the input parsers (build/asan) =="
NMAR_TARGETS="${ASAN_TESTS[*]}" scripts/build.sh build/asan -DNMAR_BUILD_GUI=OFF \
  -DNMAR_ENABLE_SANITIZERS=ON
(cd build/asan && ctest --output-on-failure -j "$jobs" -R "^($(IFS='|'; echo "${ASAN_TESTS[*]}"))\$")

echo "== [4/4] fuzz targets (libFuzzer, clang; ${NMAR_FUZZ_SECONDS:-30} s each) (build/fuzz) =="
NMAR_TARGETS=nmar_fuzzers scripts/build.sh build/fuzz -DNMAR_BUILD_GUI=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DNMAR_USE_PCH=OFF -DNMAR_BUILD_FUZZERS=ON \
  -DNMAR_FUZZ_SECONDS="${NMAR_FUZZ_SECONDS:-30}"
(cd build/fuzz && ctest --output-on-failure -L fuzz -j "$jobs")
