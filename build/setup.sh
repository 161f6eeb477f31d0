#!/usr/bin/env bash
# Idempotent setup for MLNet.BNInception on Debian 12 with the .NET SDK:
#   1. installs the Debian packages that are missing (nothing is downloaded from elsewhere);
#   2. builds the solution, which builds the native shim with CMake on the way.
# With --with-test-deps it also installs what the tests compare against: Debian's PyTorch, OpenCV
# for Python, ONNX's checker and the Fashion-MNIST data set.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_packages=(
  libtorch-dev          # the engine: libtorch 1.13.1, CPU
  libopenblas0-pthread  # libtorch's matrix products go through the system BLAS; the reference one is ~18x slower
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-dnn-dev
  cmake g++
  dataset-fashion-mnist # the main job's default data: real images, shipped by Debian
)
test_packages=(python3-torch python3-numpy python3-opencv python3-onnx)

packages=("${runtime_packages[@]}")
if [[ "${1:-}" == "--with-test-deps" ]]; then
  packages+=("${test_packages[@]}")
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK (dotnet) is not on PATH; install it first." >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  as_root=()
  if [[ "$(id -u)" -ne 0 ]]; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
if [[ "$blas" != *openblas* ]]; then
  echo "setup: warning: libblas.so.3 resolves to '$blas', not OpenBLAS; matrix products will be slow." >&2
  echo "setup: fix with: update-alternatives --auto libblas.so.3-x86_64-linux-gnu" >&2
fi

dotnet build MLNet.BNInception.sln -c Release -nologo -v quiet
