#!/usr/bin/env bash
# Prepares, on this Debian 12 machine, what a GPU machine of the device tool lacks to build the
# core (issue 10). That machine has CMake, ninja, a C++ compiler, CUDA and a pip PyTorch, and
# nothing can be installed there; the core's other libraries travel with the working tree: their
# Debian packages (headers, CMake and pkg-config files, shared libraries, pkgconf) are unpacked
# into .device/prefix (git-ignored, about 20 MB), which scripts/device-check.sh uses there:
#   scripts/device-deps.sh
#   device run: command "scripts/device-check.sh", carry [".device/prefix"], timeout_s 590
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev libtomlplusplus-dev
  libtomlplusplus3 libcli11-dev libsqlite3-dev libsqlite3-0 libpcre2-dev libpcre2-8-0
  libutf8proc-dev libutf8proc2 libssl-dev libssl3 libgtest-dev pkgconf pkgconf-bin libpkgconf3
)
rm -rf .device/debs .device/prefix
mkdir -p .device/debs .device/prefix
(cd .device/debs && apt-get download -q "${PACKAGES[@]}")
for deb in .device/debs/*.deb; do dpkg-deb -x "$deb" .device/prefix; done
rm -rf .device/debs .device/prefix/usr/share/doc .device/prefix/usr/share/man \
  .device/prefix/usr/share/lintian
# static archives (only gtest's are linked) and the PCRE2 widths not used
find .device/prefix -name '*.a' ! -name 'libgtest*.a' -delete
rm -f .device/prefix/usr/lib/x86_64-linux-gnu/libpcre2-{16,32,posix}.so*
# absolute symbolic links would point into the other machine's /usr: make them relative
find .device/prefix -type l -lname '/*' | while read -r link; do
  target=".device/prefix$(readlink "$link")"
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$target")" "$link"
done
echo "device-deps: $(du -sh .device/prefix | cut -f1) in .device/prefix (${#PACKAGES[@]} packages)"
