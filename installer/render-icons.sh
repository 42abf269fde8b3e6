#!/usr/bin/env bash
# Renders the PNG icon sizes under resources/icons/hicolor from the SVG (needs librsvg2-bin).
# Run after changing resources/icons/nmar-workbench.svg and commit the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
for s in 16 24 32 48 64 128 256 512; do
  mkdir -p "resources/icons/hicolor/${s}x${s}"
  rsvg-convert -w "$s" -h "$s" resources/icons/nmar-workbench.svg \
    -o "resources/icons/hicolor/${s}x${s}/nmar-workbench.png"
done
