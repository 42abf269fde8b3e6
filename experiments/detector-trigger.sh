#!/bin/sh
# The causal trigger (issue 12): trains a deviation detector post hoc on a masked-SFT checkpoint and
# on a stage-1 checkpoint that never saw UNDO, then measures on held-out examples the detector's
# AUROC / precision / recall / false-trigger rate (injected deviations and natural errors) and the
# clean accuracy and recovery (hard, soft, resample) with the model's own UNDO only, with the
# verifier forcing UNDO above tau, with the verifier alone (the model's UNDO suppressed), and with
# the verifier raising the UNDO logit instead.
#   sh experiments/detector-trigger.sh MASKED_CKPT PLAIN_CKPT OUT_DIR
# The README's table came from ft3-masked/checkpoint-1200 (masked SFT on 3-digit addition from
# addition-clean) and addition-clean's checkpoint-4000, with OMP_NUM_THREADS=1 on a CPU.
set -eu
MASKED=${1:?masked-SFT checkpoint}
PLAIN=${2:?stage-1 checkpoint}
OUT=${3:?output folder}
NMAR=${NMAR:-nmar}
mkdir -p "$OUT"
for name in masked plain; do
  if [ $name = masked ]; then ckpt=$MASKED; else ckpt=$PLAIN; fi
  "$NMAR" detector train "$ckpt" --task addition --difficulty 3 --examples 2048 \
    --natural-examples 3000 --steps 4000 --inner 256 --lr 1e-3 --seed 0 --out "$OUT/$name-detector"
  for tau in 0.5 0.7; do
    "$NMAR" detector eval "$ckpt" --detector "$OUT/$name-detector" --seed 1000 --examples 512 \
      --natural-examples 500 --recovery --recovery-examples 300 --tau $tau --verifier-bias 2 \
      --json > "$OUT/$name-tau$tau.json"
  done
done
echo "results in $OUT/*-tau*.json"
