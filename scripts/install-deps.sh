#!/usr/bin/env bash
# Installs every system package the workbench needs to build, test and run (Debian 12).
# Usage: scripts/install-deps.sh [--gui-only-runtime]   (run as root, or with sudo available)
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # engine
  libtorch-dev libopenblas0-pthread libspdlog-dev libsqlite3-dev nlohmann-json3-dev
  libtomlplusplus-dev libcli11-dev libpcre2-dev libutf8proc-dev libgtest-dev libssl-dev
  libgloo-dev  # headers of LibTorch's Gloo backend: data-parallel training on CPU
  # GUI
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libgl-dev xvfb xauth
  # fuzz targets (tests/fuzz): clang with the libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # packaging and its checks (installer/test-package.sh)
  dpkg-dev file fakeroot lintian desktop-file-utils appstream
)

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

# Debian's LibTorch calls the generic libblas.so.3: make sure it is OpenBLAS, not the slow reference BLAS.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')
case "$blas" in
  *openblas*) ;;
  *) $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu \
       /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 || true ;;
esac
echo "install-deps: done (libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3))"
