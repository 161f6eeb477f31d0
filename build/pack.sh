#!/usr/bin/env bash
# Packs everything an application needs from this repository into one folder that NuGet can use as a
# package source (README, "Use it in your application"):
#   MLNet.BNInception         the ML.NET trainer, safe image loader and model files
#   MLNet.BNInception.Engine  the network, training and scoring on TorchSharp (a dependency of the above)
#   MLNet.BNInception.Plots   training curves with ScottPlot (a dependency of the above)
#   MLNet.BNInception.Cli     the bninception command-line tool (dotnet tool install)
#
#   bash build/pack.sh [--output DIR] [--version VERSION] [--no-build] [--without-tool]
#
# The version is new on every pack (0.1.0-dev.<UTC date>.<UTC time>, the time as HHMMSS without its
# leading zeros, which SemVer forbids in a number: 00:20:19 is 2019), so NuGet's cache, which never
# looks at a version again once it holds it, cannot hand an application an earlier pack. Earlier
# packs of these packages in DIR are removed. The last line printed is the version. --no-build packs
# what the last Release build made, without setting up or building first (the test suite uses it,
# after build/test.sh's own build). --without-tool packs the three libraries only, all that notebooks
# and samples use: the tool's package holds libtorch (150 MB compressed) and takes most of a pack's
# time (about 20 of 22 s on 2 cores). A relative DIR is taken from the folder the command is run in;
# the default is the repository's artifacts/packages.
set -euo pipefail

output=artifacts/packages
version=""
build=true
projects=(MLNet.BNInception.Engine MLNet.BNInception.Plots MLNet.BNInception MLNet.BNInception.Cli)
while (($#)); do
  case "$1" in
    --output) output=$(realpath -m -- "${2:?--output needs a folder}"); shift 2 ;;
    --version) version=${2:?--version needs a version}; shift 2 ;;
    --no-build) build=false; shift ;;
    --without-tool) projects=("${projects[@]:0:3}"); shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pack: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

prefix=$(dotnet msbuild src/MLNet.BNInception -getProperty:VersionPrefix)
stamp=$(date -u +%Y%m%d.%H%M%S)
version=${version:-$prefix-dev.${stamp%.*}.$((10#${stamp#*.}))}

if $build; then
  bash build/setup.sh
fi
mkdir -p "$output"
output=$(cd "$output" && pwd)
for project in "${projects[@]}"; do
  rm -f "$output/$project".[0-9]*.nupkg
done
for project in "${projects[@]}"; do
  # The pack of each project sets the version of the ones it depends on too (a global property).
  dotnet pack "src/$project" -c Release --no-build -nologo -v quiet --output "$output" -p:PackageVersion="$version"
done

echo "packed into $output:"
for project in "${projects[@]}"; do
  echo "  $project.$version.nupkg ($(du -h "$output/$project.$version.nupkg" | cut -f1))"
done
echo "$version"
