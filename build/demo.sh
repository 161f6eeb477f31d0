#!/usr/bin/env bash
# The README's main-job command: sets up (packages, build) and runs the main job, the Fashion-MNIST
# walk-through (docs/walkthrough.md), on the default data, Debian's Fashion-MNIST.
#   bash build/demo.sh [--output DIR] [--epochs N] [--train-images N] [--test-images N] [--resume]
#     --output DIR        where the data, model, curves and predictions go (default artifacts/walkthrough)
#     --epochs N          training epochs (default 1)
#     --train-images N    Fashion-MNIST training images to use, 100 to 60,000 (default 12,288; 8% held out for validation)
#     --test-images N     test images to evaluate, 1 to 10,000 (default 2,000)
#     --resume            continue from the checkpoint a stopped run (Ctrl-C) left in DIR
#   A relative DIR is taken from the folder the command is run in.
set -euo pipefail
for argument in "$@"; do
  if [[ "$argument" == "-h" || "$argument" == "--help" ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
  fi
done
# The demo runs in the repository (its default folder is the repository's artifacts/walkthrough), so
# a relative --output is made absolute here, from the caller's folder; the rest goes through as given.
arguments=()
while (($#)); do
  if [[ $1 == --output && $# -ge 2 && -n $2 ]]; then
    arguments+=("$1" "$(realpath -m -- "$2")")
    shift 2
  else
    arguments+=("$1")
    shift
  fi
done
cd "$(dirname "$0")/.."
bash build/setup.sh
dotnet run --project src/MLNet.BNInception.Demo -c Release --no-build -- "${arguments[@]}"
