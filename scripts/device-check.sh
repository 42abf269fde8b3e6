#!/usr/bin/env bash
# The GPU checks of issue 10, run ON a GPU machine of the device tool from the repository root,
# with the libraries from scripts/device-deps.sh carried:
#   device run: command "scripts/device-check.sh", carry [".device/prefix"], timeout_s 590
# It builds the core's GPU tests and bench_throughput (Release, no GUI) against that machine's pip
# PyTorch (CUDA) and the carried libraries, runs the tests labelled gpu and bench_throughput on
# CUDA (fused and explicit attention, JSON), and writes every log to $OUT (./device-out when OUT
# is unset). The build tree build/gpu stays on a warm machine: when a call runs out of time,
# running it again continues where it stopped. TORCH_DIR overrides the Torch CMake folder (e.g.
# /usr/share/cmake/Torch to try the script on a CPU machine; the tests then skip).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/device-out}"
mkdir -p "$out"
prefix="$PWD/.device/prefix"
[ -d "$prefix/usr" ] || { echo "device-check: $prefix is missing: run scripts/device-deps.sh here and carry .device/prefix" | tee "$out/error.txt"; exit 2; }
arch=x86_64-linux-gnu
export LD_LIBRARY_PATH="$prefix/usr/lib/$arch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
export PKG_CONFIG_LIBDIR="$prefix/usr/lib/$arch/pkgconfig:$prefix/usr/share/pkgconfig"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"

{
  date -u; uname -a; nproc; (nvidia-smi -L || echo "no nvidia-smi"); (c++ --version | head -1)
  (cmake --version | head -1); (ninja --version)
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

torch_dir="${TORCH_DIR:-$(python3 -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))')}"
extra=()
# pip's cuDNN (nvidia-cudnn-*): Torch's CMake files look for it when it was built with it.
cudnn="$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.dirname(m.__file__))' 2>/dev/null || true)"
if [ -n "$cudnn" ] && [ -d "$cudnn/include" ]; then
  lib="$(ls "$cudnn"/lib/libcudnn.so* 2>/dev/null | head -1)"
  extra+=(-DCUDNN_INCLUDE_PATH="$cudnn/include" ${lib:+-DCUDNN_LIBRARY_PATH="$lib"})
fi

echo "== configure (Torch_DIR=$torch_dir)"
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DNMAR_BUILD_GUI=OFF \
  -DTorch_DIR="$torch_dir" -DCMAKE_PREFIX_PATH="$prefix/usr" -DOPENSSL_ROOT_DIR="$prefix/usr" \
  -DPKG_CONFIG_EXECUTABLE="$prefix/usr/bin/pkgconf" -DCMAKE_CUDA_ARCHITECTURES=90 "${extra[@]}" \
  > "$out/configure.log" 2>&1 || { tail -n 60 "$out/configure.log"; exit 1; }
grep -E "Torch|CUDA|Gloo" "$out/configure.log" | head -20

echo "== build"
start=$(date +%s)
cmake --build build/gpu -j "$(nproc)" --target test_gpu test_distributed_gpu bench_throughput \
  > "$out/build.log" 2>&1 || { grep -E -B2 -A12 "error" "$out/build.log" | head -80; exit 1; }
echo "built in $(( $(date +%s) - start )) s"

echo "== tests labelled gpu"
(cd build/gpu && ctest -L gpu --output-on-failure --timeout 300) > "$out/gpu-tests.log" 2>&1
tests_rc=$?
tail -n 25 "$out/gpu-tests.log"
build/gpu/tests/core/test_gpu > "$out/test_gpu.log" 2>&1
grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$out/test_gpu.log"

echo "== bench_throughput on cuda"
for kernel in auto explicit; do
  build/gpu/tests/core/bench_throughput --device cuda --attention "$kernel" \
    > "$out/bench-cuda-$kernel.md" 2>&1
  build/gpu/tests/core/bench_throughput --device cuda --attention "$kernel" --json \
    > "$out/bench-cuda-$kernel.json" 2>> "$out/bench-cuda-$kernel.md"
  cat "$out/bench-cuda-$kernel.md"
done
exit $tests_rc
