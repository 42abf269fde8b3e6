#!/usr/bin/env bash
# Makes the prose datasets of experiment 8 (experiments/prose-tiny.toml) from the public-domain
# King James Bible of the fixtures: 6,000 training pairs and 200 held-out pairs (disjoint: the
# held-out file skips the training draw), prompt = a sentence's first 5 words, completion = up to 6
# words after them. Deterministic: rerunning it gives the same files.
#   scripts/make-prose-data.sh [path/to/nmar] [fixtures dir]
set -euo pipefail
cd "$(dirname "$0")/.."
nmar="${1:-build/core-only/app/nmar}"
fixtures="${2:-../shared/fixtures}"
kjv="$fixtures/corpora/kjv.txt"
mkdir -p experiments/data
common=(--prompt-words 5 --completion-words 6 --min-completion-words 3 --seed 9)
"$nmar" data corpus "$kjv" "${common[@]}" --count 6000 --out experiments/data/kjv-train.jsonl
"$nmar" data corpus "$kjv" "${common[@]}" --count 200 --skip 6000 \
  --out experiments/data/kjv-heldout.jsonl
