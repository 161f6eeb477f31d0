#!/usr/bin/env bash
# The paper's experiments at this machine's scale (docs/experiments.md), one command each:
#   bash build/experiment.sh figure1 [--steps 50000] [--every 500] [--lr 0.5] [--init-std 0.01] [--seed 1] [--out experiments/figure1]
#   bash build/experiment.sh figure3 [--epochs 10] [--train-images 12288] [--seed 1] [--precision mixed|float32] [--out experiments/figure3]
# Writes the CSV of every measurement and the plots (PNG) into --out.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# == 0)); then
  echo "usage: bash build/experiment.sh figure1|figure3 [options]" >&2
  exit 2
fi
source build/quietly.sh
quietly experiment "the setup and build (build/setup.sh)" bash build/setup.sh
exec dotnet src/MLNet.BNInception.Experiments/bin/Release/net10.0/MLNet.BNInception.Experiments.dll "$@"
