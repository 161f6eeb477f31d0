#!/usr/bin/env bash
# Packs the bninception command-line tool with everything else (build/pack.sh) and installs it with
# 'dotnet tool' from the packed output: globally (~/.dotnet/tools) by default, or into --tool-path DIR.
#   bash build/install-tool.sh [--tool-path DIR]
# A relative DIR is taken from the folder the command is run in.
set -euo pipefail

tool_path=""
while (($#)); do
  case "$1" in
    --tool-path)
      if [[ $# -lt 2 || -z $2 || $2 == --* ]]; then
        echo "install-tool: --tool-path needs a folder (try --help)" >&2
        exit 2
      fi
      tool_path=$(realpath -m -- "$2"); shift 2 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-tool: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
source build/quietly.sh

feed=artifacts/packages
quietly install-tool "the build and pack (build/pack.sh)" bash build/pack.sh --output "$feed"
version=$(tail -n 1 <<<"$quietly_output")
if [[ -n "$tool_path" ]]; then
  dotnet tool uninstall MLNet.BNInception.Cli --tool-path "$tool_path" >/dev/null 2>&1 || true
  dotnet tool install MLNet.BNInception.Cli --version "$version" --add-source "$feed" --tool-path "$tool_path"
else
  dotnet tool uninstall MLNet.BNInception.Cli --global >/dev/null 2>&1 || true
  dotnet tool install MLNet.BNInception.Cli --version "$version" --add-source "$feed" --global
  echo "bninception is in ~/.dotnet/tools (add it to PATH if it is not there)"
fi
