#!/usr/bin/env bash
# The paper's experiments at this machine's scale (docs/experiments.md), one command each:
#   bash build/experiment.sh figure1 [--steps 50000] [--every 500] [--lr 0.5] [--init-std 0.01] [--seed 1] [--out experiments/figure1]
#   bash build/experiment.sh figure3 [--epochs 10] [--train-images 12288] [--seed 1] [--precision mixed|float32] [--out experiments/figure3]
# Writes the CSV of every measurement and the plots (PNG) into --out (a relative folder is taken from
# the folder the command is run in; the default, experiments/NAME, is in the repository).
set -euo pipefail

if (($# == 0)); then
  echo "usage: bash build/experiment.sh figure1|figure3 [options]" >&2
  exit 2
fi
# The program runs in the repository and reads its options in pairs after the experiment's name: a
# relative --out is made absolute here, from the caller's folder; the rest goes through as given.
arguments=("$1")
shift
while (($#)); do
  if [[ $1 == --out && $# -ge 2 && -n $2 ]]; then
    arguments+=("$1" "$(realpath -m -- "$2")")
    shift 2
  elif (($# >= 2)); then
    arguments+=("$1" "$2")
    shift 2
  else
    arguments+=("$1")
    shift
  fi
done
cd "$(dirname "$0")/.."
source build/quietly.sh
quietly experiment "the setup and build (build/setup.sh)" bash build/setup.sh
exec dotnet src/MLNet.BNInception.Experiments/bin/Release/net10.0/MLNet.BNInception.Experiments.dll "${arguments[@]}"
