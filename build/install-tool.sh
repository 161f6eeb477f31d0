#!/usr/bin/env bash
# Builds the bninception command-line tool, packs it, and installs it with 'dotnet tool' from the
# packed output: globally (~/.dotnet/tools) by default, or into --tool-path DIR.
#   bash build/install-tool.sh [--tool-path DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

tool_path=""
while (($#)); do
  case "$1" in
    --tool-path) tool_path=$2; shift 2 ;;
    *) echo "install-tool: unknown argument $1" >&2; exit 2 ;;
  esac
done

bash build/setup.sh
feed=artifacts/packages
rm -rf "$feed"
dotnet pack src/MLNet.BNInception.Cli -c Release --no-build -nologo -v quiet --output "$feed"
version=$(dotnet msbuild src/MLNet.BNInception.Cli -getProperty:PackageVersion -p:Configuration=Release)
# The package's version does not change from build to build: drop the copy an earlier install left
# in the NuGet cache, or dotnet tool would install that one again.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/mlnet.bninception.cli/$version"
if [[ -n "$tool_path" ]]; then
  dotnet tool uninstall MLNet.BNInception.Cli --tool-path "$tool_path" >/dev/null 2>&1 || true
  dotnet tool install MLNet.BNInception.Cli --version "$version" --add-source "$feed" --tool-path "$tool_path"
else
  dotnet tool uninstall MLNet.BNInception.Cli --global >/dev/null 2>&1 || true
  dotnet tool install MLNet.BNInception.Cli --version "$version" --add-source "$feed" --global
  echo "bninception is in ~/.dotnet/tools (add it to PATH if it is not there)"
fi
