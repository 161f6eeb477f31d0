#!/usr/bin/env bash
# Idempotent setup for MLNet.BNInception on Debian 12 with the .NET SDK:
#   1. installs the Debian packages that are missing (nothing is downloaded from elsewhere);
#   2. builds the solution. libtorch itself comes from NuGet (TorchSharp and libtorch-cpu-linux-x64),
#      and the build makes TorchSharp's native library loadable on Debian 12's libstdc++.
# With --with-test-deps it also installs what the tests compare against or drive: Debian's PyTorch,
# ONNX's checker, and Open MPI (mpirun and libmpi.so.40, for the tests of the distributed binding,
# which run two ranks on this machine; training without mpirun needs none of it).
#   bash build/setup.sh [--with-test-deps]
set -euo pipefail

# An unknown option is refused, not ignored: a typo of --with-test-deps would otherwise install
# nothing for the tests and still succeed.
with_test_deps=false
for argument in "$@"; do
  case "$argument" in
    --with-test-deps) with_test_deps=true ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$argument'; the known ones: --with-test-deps, -h/--help" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

runtime_packages=(
  dataset-fashion-mnist # the main job's default data: real images, shipped by Debian
)
# iproute2: MpiOverTcpTests joins two network namespaces with a veth pair (`ip netns`, `ip link`).
test_packages=(python3-torch python3-numpy python3-onnx openmpi-bin libopenmpi-dev iproute2)

packages=("${runtime_packages[@]}")
if $with_test_deps; then
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

dotnet build MLNet.BNInception.sln -c Release -nologo -v quiet
