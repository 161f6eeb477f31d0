#!/usr/bin/env bash
# The benchmark's GPU mode (test/MLNet.BNInception.GpuBenchmark/README.md), prepared on this machine
# for a GPU machine that has PyTorch but no .NET:
#   bash build/gpu-bench.sh prepare
# writes into .gpu-bench/ at the repository root (git-ignored; the device tool's run call carries it):
#   app.tar.xz      the benchmark program, published framework-dependent for linux-x64 with no libtorch
#                   package: on the GPU machine it loads the libtorch of the PyTorch installed there
#   dotnet.tar.xz   this machine's .NET runtime (the dotnet host, host/ and shared/Microsoft.NETCore.App/),
#                   remade only when missing or of another runtime version
#   build-info.txt  the commit, whether the tree had changes, and the runtime, for the run's environment.txt
# and checks that they stay well under the device tool's 64 MiB for everything that travels.
# test/MLNet.BNInception.GpuBenchmark/run-on-device.sh runs them there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" != prepare ]]; then
  echo "usage: bash build/gpu-bench.sh prepare" >&2
  exit 2
fi

folder=.gpu-bench
carry_limit_mib=48 # of the device tool's 64 MiB, leaving the rest for the tree itself
mkdir -p "$folder"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet publish test/MLNet.BNInception.GpuBenchmark -c Release -o "$work/app" -nologo -v quiet
if compgen -G "$work/app/libtorch*" >/dev/null; then
  echo "gpu-bench: the publish holds a libtorch; the GPU machine must use its PyTorch's instead." >&2
  exit 1
fi
tar -C "$work/app" -cf - . | xz -T0 -6 >"$work/app.tar.xz"
mv "$work/app.tar.xz" "$folder/app.tar.xz"

# The runtime the program needs, from the SDK that built it.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$work/app/MLNet.BNInception.GpuBenchmark.runtimeconfig.json" | head -n 1)
installed=$(ls "$dotnet_root/shared/Microsoft.NETCore.App" | sort -V | tail -n 1)
if [[ ! -f $folder/dotnet.tar.xz || "$(cat "$folder/dotnet.version" 2>/dev/null)" != "$installed" ]]; then
  echo "gpu-bench: packing the .NET runtime $installed from $dotnet_root (the program asks for $runtime or later)"
  tar -C "$dotnet_root" -cf - dotnet host "shared/Microsoft.NETCore.App/$installed" LICENSE.txt ThirdPartyNotices.txt | xz -T0 -6 >"$work/dotnet.tar.xz"
  mv "$work/dotnet.tar.xz" "$folder/dotnet.tar.xz"
  echo "$installed" >"$folder/dotnet.version"
fi

{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$([[ -n "$(git status --porcelain 2>/dev/null)" ]] && echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%FT%TZ) with .NET SDK $(dotnet --version); runtime carried: $installed"
} >"$folder/build-info.txt"

size_mib=$(du -sm "$folder" | cut -f1)
ls -l "$folder"
echo "gpu-bench: $folder holds ${size_mib} MiB"
if ((size_mib > carry_limit_mib)); then
  echo "gpu-bench: that is over ${carry_limit_mib} MiB, too close to the device tool's 64 MiB." >&2
  exit 1
fi
