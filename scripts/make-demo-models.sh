#!/usr/bin/env bash
# Regenerates the bundled demo models in resources/demo from the experiments (issue 9):
#   scripts/make-demo-models.sh [prose] [digits]     (default: both)
#   NMAR=build/core-only/app/nmar  the nmar binary;  STORE=runs/claims.sqlite  the run store
# prose:  seed 1 of experiment 8 of the claims suite (`real-text`, variant `confusable`: a tiny
#         Llama-style model with the Llama-2 vocabulary, trained on King James Bible sentences),
#         trained by `nmar experiments run` unless the store already has it finished (about 2
#         minutes on one thread), copied to resources/demo/prose, plus a trace with a wrong word
#         forced at step 2 (resources/demo/traces/prose.json): the first prompt of PROMPTS below
#         whose greedy decode pops the forced word with UNDO.
# digits: the 3-digit addition model of resources/demo/addition (experiments/addition-pretrain.toml
#         then addition-masked.toml, about 20 minutes) and its trace (traces/addition.json).
set -euo pipefail
cd "$(dirname "$0")/.."
nmar="${NMAR:-build/core-only/app/nmar}"
store="${STORE:-runs/claims.sqlite}"
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(prose digits)
files=(config.json model.safetensors tokenizer.json tokenizer_config.json)

# The newest checkpoint folder under $1 (runs of the suite live in <variant>/seed-N-<hash>/).
latest_checkpoint() { ls -dt "$1"/checkpoint-* | head -n 1; }

for w in "${what[@]}"; do
  case "$w" in
    prose)
      "$nmar" experiments run experiments/suite.toml --store "$store" --only real-text --seeds 1 \
        --quiet
      run=$(ls -dt runs/suite-claims/real-text/confusable/seed-1-* | head -n 1)
      ck=$(latest_checkpoint "$run")
      mkdir -p resources/demo/prose
      for f in "${files[@]}"; do cp "$ck/$f" resources/demo/prose/; done
      PROMPTS=("And the LORD said unto" "And it came to pass," "In the beginning God created"
               "And Moses spake unto the")
      found=""
      for p in "${PROMPTS[@]}"; do
        "$nmar" decode resources/demo/prose --prompt "$p" --temperature 0 --inject 2 \
          --max-new-tokens 16 --attention --out resources/demo/traces/prose.json >/dev/null
        if grep -Eq '"kind": *"pop"' resources/demo/traces/prose.json; then found="$p"; break; fi
      done
      [ -n "$found" ] || { echo "no prompt recovered from the forced word" >&2; exit 1; }
      echo "prose demo: $ck -> resources/demo/prose; trace of \"$found\" in traces/prose.json"
      ;;
    digits)
      "$nmar" train experiments/addition-pretrain.toml --store "$store"
      "$nmar" train experiments/addition-masked.toml --store "$store"
      for f in "${files[@]}"; do cp "runs/addition-masked/checkpoint-1200/$f" resources/demo/addition/; done
      "$nmar" decode resources/demo/addition --prompt 348+275= --temperature 0 --inject 3 \
        --attention --out resources/demo/traces/addition.json
      ;;
    *) echo "unknown demo '$w' (expected prose or digits)" >&2; exit 2 ;;
  esac
done
