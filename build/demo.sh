#!/usr/bin/env bash
# The README's main-job command: sets up (packages, build) and runs the demo on the
# default data, Debian's Fashion-MNIST. Extra arguments go to the demo (--epochs N, --output DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh
dotnet run --project src/MLNet.BNInception.Demo -c Release --no-build -- "$@"
