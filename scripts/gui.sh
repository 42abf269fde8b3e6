#!/usr/bin/env bash
# README command 1: installs what is needed, builds the workbench and starts the GUI.
# Extra arguments go to nmar-workbench (e.g. a checkpoint folder or a trace file).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build/full -DNMAR_BUILD_GUI=ON
app=build/full/app/nmar-workbench
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "gui.sh: no display found; starting under xvfb-run (use a desktop session to see the window)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$app" "$@"
fi
exec "$app" "$@"
