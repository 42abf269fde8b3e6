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
# digits: experiments/addition-pretrain.toml (about 11 minutes on one thread) then
#         addition-demo.toml (about 10 minutes), each skipped when its last checkpoint exists; the
#         checkpoint replaces resources/demo/addition, with a trace (traces/addition.json), only
#         when one of PROMPTS below pops a wrong digit forced at step 3 at once and ends right.
#         Exits 1 and keeps the bundled model otherwise.
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
      # stage 1 (plain SFT from scratch on 3-digit sums) and stage 2 (curriculum masked SFT with
      # random wrong digits as deviations), each skipped when its last checkpoint exists
      [ -d runs/addition-pretrain/checkpoint-12000 ] ||
        "$nmar" train experiments/addition-pretrain.toml --store "$store"
      ck=runs/addition-demo/checkpoint-4000
      [ -d "$ck" ] || "$nmar" train experiments/addition-demo.toml --store "$store"
      # The first prompt where a wrong digit (the right one + 1) forced at step 3 is popped at the
      # very next step, the sum comes out right and the decode makes at most 2 UNDOs. The model
      # and its trace replace the bundled ones only when one is found.
      PROMPTS=(348+275= 126+358= 702+119= 433+278= 251+634= 689+127= 404+397= 812+165=
               135+246= 578+321= 640+285= 217+593= 366+455= 820+109= 147+852= 538+467=)
      found=""
      for p in "${PROMPTS[@]}"; do
        sum=$(( ${p%%+*} + $(echo "${p#*+}" | tr -d =) ))
        wrong=$(( (${sum:2:1} + 1) % 10 ))
        if "$nmar" decode "$ck" --prompt "$p" --temperature 0 --inject "3:$wrong" --attention \
             --plain --out runs/addition-demo-trace.json |
           awk -v want="output \"$sum\"" '/FORCED/ { f = NR } f && NR == f + 1 && / pop / { ok = 1 }
                / pop / { pops++ } index($0, want) == 1 { right = 1 }
                END { exit !(ok && right && pops <= 2) }'; then
          found="$p"; found_wrong="$wrong"; break
        fi
      done
      [ -n "$found" ] || {
        echo "digits: $ck undoes no forced wrong digit on ${#PROMPTS[@]} prompts; the bundled" \
             "resources/demo/addition is kept" >&2; exit 1; }
      for f in "${files[@]}"; do cp "$ck/$f" resources/demo/addition/; done
      "$nmar" decode resources/demo/addition --prompt "$found" --temperature 0 \
        --inject "3:$found_wrong" \
        --attention --out resources/demo/traces/addition.json >/dev/null
      echo "digits demo: $ck -> resources/demo/addition; trace of $found in traces/addition.json"
      ;;
    *) echo "unknown demo '$w' (expected prose or digits)" >&2; exit 2 ;;
  esac
done
