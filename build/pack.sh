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
# looks at a version again once it holds it, cannot hand an application an earlier pack; a --version
# must be a SemVer 2 version. The packages are made in a folder of their own and moved into DIR once
# every one has packed; then the earlier packs of these packages in DIR are removed (a failed pack
# leaves DIR as it was). The last line printed is the version. --no-build packs
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
# An option's value: there, not empty, and not the next option; else a usage error (exit 2).
needs() { echo "pack: $1 needs $2 (try --help)" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --output) [[ $# -ge 2 && -n $2 && $2 != --* ]] || needs "$1" "a folder"; output=$(realpath -m -- "$2"); shift 2 ;;
    --version) [[ $# -ge 2 && -n $2 && $2 != --* ]] || needs "$1" "a version"; version=$2; shift 2 ;;
    --no-build) build=false; shift ;;
    --without-tool) projects=("${projects[@]:0:3}"); shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pack: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
# SemVer 2 (semver.org's own expression): no number with a leading zero, identifiers not empty.
number='(0|[1-9][0-9]*)'
identifier="($number|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
semver="^$number\\.$number\\.$number(-$identifier(\\.$identifier)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?\$"
if [[ -n $version && ! $version =~ $semver ]]; then
  echo "pack: --version '$version' is not a SemVer 2 version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], no leading zeros, e.g. 0.1.0-dev.1)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

if [[ -z $version ]]; then
  prefix=$(dotnet msbuild src/MLNet.BNInception -getProperty:VersionPrefix)
  stamp=$(date -u +%Y%m%d.%H%M%S)
  version=$prefix-dev.${stamp%.*}.$((10#${stamp#*.}))
fi

if $build; then
  bash build/setup.sh
fi
mkdir -p "$output"
output=$(cd "$output" && pwd)
# Packed beside the feed, in a hidden folder of its own (NuGet reads a feed folder's own .nupkg
# files, not this one's), so that the move into the feed is a rename.
staging=$(mktemp -d "$output/.pack.XXXXXX")
trap 'rm -rf "$staging"' EXIT
for project in "${projects[@]}"; do
  # The pack of each project sets the version of the ones it depends on too (a global property).
  dotnet pack "src/$project" -c Release --no-build -nologo -v quiet --output "$staging" -p:PackageVersion="$version"
done

# Every project packed: the new packages go into the feed, then the earlier ones of the same ids
# leave it. (A package's file name is its id and its version, without any +BUILD part.)
shopt -s nullglob
new=("$staging"/*.nupkg)
mv -f "${new[@]}" "$output"/
echo "packed into $output:"
for project in "${projects[@]}"; do
  for package in "$output/$project".[0-9]*.nupkg; do
    kept=false
    for file in "${new[@]}"; do
      [[ ${file##*/} == "${package##*/}" ]] && kept=true
    done
    if $kept; then
      echo "  ${package##*/} ($(du -h "$package" | cut -f1))"
    else
      rm -f "$package"
    fi
  done
done
echo "$version"
