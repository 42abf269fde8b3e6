#!/usr/bin/env bash
# Regenerates the bundled demo models in resources/demo from the experiments (issue 9):
#   scripts/make-demo-models.sh [prose] [digits]     (default: both)
#   NMAR=build/core-only/app/nmar  the nmar binary;  STORE=runs/claims.sqlite  the run store
# prose:  experiments/prose-demo.toml (experiment 8's recipe, `real-text`: a tiny Llama-style model
#         with the Llama-2 vocabulary trained on King James Bible sentences, here 2000 steps instead
#         of 300; about 13 minutes on one thread; skipped when runs/prose-demo/checkpoint-2000
#         exists), copied to resources/demo/prose, plus a trace with a wrong word forced at step 2
#         (resources/demo/traces/prose.json): the first prompt of PROMPTS below whose greedy decode
#         pops the forced word with UNDO at once and does not loop (at most 2 UNDOs).
# digits: the 3-digit addition model of resources/demo/addition (experiments/addition-pretrain.toml
#         then addition-masked.toml, about 20 minutes) and its trace (traces/addition.json).
set -euo pipefail
cd "$(dirname "$0")/.."
nmar="${NMAR:-build/core-only/app/nmar}"
store="${STORE:-runs/claims.sqlite}"
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(prose digits)
files=(config.json model.safetensors tokenizer.json tokenizer_config.json)


for w in "${what[@]}"; do
  case "$w" in
    prose)
      ck=runs/prose-demo/checkpoint-2000
      [ -d "$ck" ] || "$nmar" train experiments/prose-demo.toml --store "$store"
      mkdir -p resources/demo/prose
      for f in "${files[@]}"; do cp "$ck/$f" resources/demo/prose/; done
      # held-out prompts (experiments/data/kjv-heldout.jsonl) and two common openings
      PROMPTS=("And Abraham gat up early" "And upon the first day" "And the LORD said unto"
               "And it came to pass," "In the beginning God created" "And Moses spake unto the")
      found=""
      for p in "${PROMPTS[@]}"; do
        # the step printed right after the FORCED push must be the pop of that word, and the
        # decode must not loop (at most 2 UNDOs in all)
        if "$nmar" decode resources/demo/prose --prompt "$p" --temperature 0 --inject 2 \
             --max-new-tokens 16 --attention --plain --out resources/demo/traces/prose.json |
           awk '/FORCED/ { f = NR } f && NR == f + 1 && / pop / { ok = 1 }
                / pop / { pops++ } END { exit !(ok && pops <= 2) }'; then
          found="$p"; break
        fi
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
