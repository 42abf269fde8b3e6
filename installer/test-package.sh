#!/usr/bin/env bash
# The `package` test: builds the .deb and the tarball from a configured and built tree, unpacks the
# .deb into a temporary root (dpkg-deb -x, no installation on the machine), runs the installed
# nmar and nmar-workbench (offscreen) from there, and checks the package with lintian and the
# desktop files with their validators. Usage: installer/test-package.sh <build-dir> <source-dir>
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "test-package: $*" >&2; exit 1; }

(cd "$build" && cpack -G "DEB;TGZ" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/nmar-workbench_*.deb 2>/dev/null | head -1)
tgz=$(ls "$work"/out/nmar-workbench-*.tar.gz 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $work/out"
[ -n "$tgz" ] || fail "no tarball in $work/out"
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) and $(basename "$tgz")"

# Control data: name, version, the OpenBLAS dependency and shared-library dependencies.
control=$(dpkg-deb -f "$deb")
grep -q '^Package: nmar-workbench$' <<<"$control" || fail "wrong Package field"
grep -q '^Version: 0\.' <<<"$control" || fail "wrong Version field"
grep -q '^Depends: .*libopenblas0-pthread' <<<"$control" || fail "Depends lacks libopenblas0-pthread"
grep -q '^Depends: .*libqt6widgets6' <<<"$control" || fail "Depends lacks Qt (shlibdeps did not run?)"

root="$work/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/nmar usr/bin/nmar-workbench usr/share/applications/org.nmar.Workbench.desktop \
         usr/share/metainfo/org.nmar.Workbench.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/nmar-workbench.svg \
         usr/share/icons/hicolor/48x48/apps/nmar-workbench.png \
         usr/share/man/man1/nmar.1.gz usr/share/man/man1/nmar-workbench.1.gz \
         usr/share/doc/nmar-workbench/copyright usr/share/doc/nmar-workbench/changelog.gz; do
  [ -e "$root/$f" ] || fail "missing from the package: /$f"
done

# The installed programs run from the unpacked root.
"$root/usr/bin/nmar" --version | grep -q '^nmar 0\.' || fail "installed nmar --version"
"$root/usr/bin/nmar" --version | grep -q '^BLAS: ' || fail "installed nmar --version names no BLAS"
"$root/usr/bin/nmar-workbench" --version | grep -q '^nmar-workbench 0\.' ||
  fail "installed nmar-workbench --version"
export QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
"$root/usr/bin/nmar-workbench" --screenshot "$work/window.png" >"$work/gui.log" 2>&1 ||
  { cat "$work/gui.log" >&2; fail "installed nmar-workbench did not start offscreen"; }
[ -s "$work/window.png" ] || fail "installed nmar-workbench wrote no screenshot"
if [ -d "$src/resources/demo" ]; then
  [ -d "$root/usr/share/nmar-workbench/demo" ] || fail "the demo is not in the package"
  grep -qi "demo" "$work/gui.log" || true
fi

# The tarball is relocatable: its nmar runs from wherever it is unpacked.
mkdir "$work/tar" && tar -xzf "$tgz" -C "$work/tar"
"$(ls -d "$work"/tar/*/)bin/nmar" --version | grep -q '^nmar 0\.' || fail "nmar from the tarball"

desktop-file-validate "$root/usr/share/applications/org.nmar.Workbench.desktop"
appstreamcli validate --no-net --pedantic "$root/usr/share/metainfo/org.nmar.Workbench.metainfo.xml" \
  >"$work/appstream.log" 2>&1 || { cat "$work/appstream.log" >&2; fail "appstream metainfo"; }
lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 ||
  { cat "$work/lintian.log" >&2; fail "lintian reports errors"; }
echo "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors, $(grep -c '^W:' "$work/lintian.log" || true) warnings"
grep '^[EW]:' "$work/lintian.log" || true
echo "test-package: ok"
