#!/usr/bin/env bash
# The README's test command: sets up (packages, build) and runs the whole NUnit suite.
# Its last line is "N passed, N failed", read from the test results. Extra arguments go to
# 'dotnet test' (for example --filter FullyQualifiedName~GradientTests).
#
#   bash build/test.sh          the whole suite, as CI runs it (its budget: 15 minutes on 2 cores)
#   bash build/test.sh --fast   every test that trains nothing (its budget: 2 minutes): the inner
#                               loop. Tests that train carry [Trains] (test/Shared/TrainsAttribute.cs);
#                               a --filter given after --fast narrows it further.
set -uo pipefail
cd "$(dirname "$0")/.."

filter=()
if [[ "${1:-}" == "--fast" ]]; then
  shift
  # dotnet test keeps only the last --filter: a caller's own is joined to this one, not left to replace it.
  fast="TestCategory!=Trains"
  rest=()
  while (($#)); do
    if [[ "$1" == "--filter" && $# -ge 2 ]]; then
      fast="($2)&$fast"
      shift 2
    else
      rest+=("$1")
      shift
    fi
  done
  set -- "${rest[@]}"
  filter=(--filter "$fast")
fi

if ! bash build/setup.sh --with-test-deps; then
  echo "setup or build failed: no tests ran"
  echo "0 passed, 0 failed"
  exit 1
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# The test projects run one after another: on 2 cores, running them side by side only slows both.
status=0
for project in test/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "${filter[@]}" "$@" || status=1
done

shopt -s nullglob
trx_files=("$results"/*.trx)
if ((${#trx_files[@]} == 0)); then
  echo "no test results were written"
  echo "0 passed, 0 failed"
  exit 1
fi
# Sums one counter over every project's TRX file.
total() { grep -ho '<Counters [^>]*>' "${trx_files[@]}" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | awk '{ sum += $1 } END { print sum + 0 }'; }
passed=$(total passed)
failed=$(( $(total failed) + $(total error) + $(total timeout) + $(total aborted) ))
not_run=$(total notExecuted)
# A project whose test host crashed writes a TRX without any result, and one that could not start
# writes none: its tests are in neither count, so the project counts as one failure, by name.
broken=()
for project in test/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  trx="$results/$name.trx"
  if [[ ! -f "$trx" ]]; then
    broken+=("$name: no test results were written")
  elif grep -q 'The active test run was aborted' "$trx"; then
    broken+=("$name: $(grep -o 'The active test run was aborted[^<]*' "$trx" | head -1) (its results are lost)")
  fi
done
failed=$((failed + ${#broken[@]}))
for line in "${broken[@]}"; do echo "BROKEN RUN: $line"; done
if (( failed > ${#broken[@]} )); then
  # Repeated here because a run's output may be read only from its end.
  /usr/bin/python3 build/failures.py "${trx_files[@]}" || echo "(could not list the failed tests; see the TRX files)"
fi
if (( not_run > 0 )); then
  echo "$passed passed, $failed failed, $not_run skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
