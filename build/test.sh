#!/usr/bin/env bash
# The README's test command: sets up (packages, native shim, build) and runs the whole NUnit suite.
# Its last line is "N passed, N failed", read from the test results. Extra arguments go to
# 'dotnet test' (for example --filter FullyQualifiedName~GradientTests).
set -uo pipefail
cd "$(dirname "$0")/.."

if ! bash build/setup.sh --with-test-deps; then
  echo "setup or build failed: no tests ran"
  echo "0 passed, 0 failed"
  exit 1
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test MLNet.BNInception.sln -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
status=$?

counters=$(grep -o '<Counters [^>]*>' "$results/results.trx" 2>/dev/null || true)
count() { grep -o " $1=\"[0-9]*\"" <<<"$counters" | grep -o '[0-9]*' || echo 0; }
if [[ -z "$counters" ]]; then
  echo "no test results were written"
  echo "0 passed, 0 failed"
  exit 1
fi
passed=$(count passed)
failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
not_run=$(count notExecuted)
if (( not_run > 0 )); then
  echo "$passed passed, $failed failed, $not_run skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
