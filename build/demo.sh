#!/usr/bin/env bash
# The README's main-job command: sets up (packages, build) and runs the main job, the Fashion-MNIST
# walk-through (docs/walkthrough.md), on the default data, Debian's Fashion-MNIST.
#   bash build/demo.sh [--output DIR] [--epochs N] [--train-images N] [--test-images N] [--resume]
#     --output DIR        where the data, model, curves and predictions go (default artifacts/walkthrough)
#     --epochs N          training epochs (default 1)
#     --train-images N    Fashion-MNIST training images to use, 100 to 60,000 (default 12,288; 8% held out for validation)
#     --test-images N     test images to evaluate, 1 to 10,000 (default 2,000)
#     --resume            continue from the checkpoint a stopped run (Ctrl-C) left in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
for argument in "$@"; do
  if [[ "$argument" == "-h" || "$argument" == "--help" ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
  fi
done
bash build/setup.sh
dotnet run --project src/MLNet.BNInception.Demo -c Release --no-build -- "$@"
