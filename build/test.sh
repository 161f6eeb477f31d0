#!/usr/bin/env bash
# The README's test command: sets up (packages, build) and runs the whole NUnit suite, in two lanes.
# Its last line is "N passed, N failed", read from the test results. Extra arguments go to
# 'dotnet test' (for example --filter FullyQualifiedName~GradientTests).
#
#   bash build/test.sh          the whole suite, as CI runs it (its budget: 15 minutes on 2 cores)
#   bash build/test.sh --fast   every test that trains nothing (its budget: 2 minutes): the inner
#                               loop. Tests that train carry [Trains] (test/Shared/TrainsAttribute.cs);
#                               --fast may come anywhere among the arguments, and a --filter, before
#                               or after it, narrows it further.
set -uo pipefail
cd "$(dirname "$0")/.."

# dotnet test keeps only the last --filter: a caller's own is joined to the tier's and to the part of
# a project a lane runs (below), not left to replace them. --fast is this script's, wherever it is.
fast_tier=0
filter=""
rest=()
while (($#)); do
  if [[ "$1" == "--fast" ]]; then
    fast_tier=1
    shift
  elif [[ "$1" == "--filter" && $# -ge 2 ]]; then
    filter="($2)${filter:+&$filter}"
    shift 2
  else
    rest+=("$1")
    shift
  fi
done
set -- "${rest[@]}"
if (( fast_tier )); then
  filter="${filter:+$filter&}TestCategory!=Trains"
fi

if ! bash build/setup.sh --with-test-deps; then
  echo "setup or build failed: no tests ran"
  echo "0 passed, 0 failed"
  exit 1
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# A stopped run stops both lanes' test processes too (they share this script's process group).
trap 'trap - INT TERM; kill 0 2>/dev/null; exit 130' INT TERM

# The suite runs in two lanes side by side, each lane's test processes one after another, each with
# one libtorch thread (BNINCEPTION_NUM_THREADS): much of the suite is not arithmetic (processes
# starting, builds, file and image I/O, single-threaded ML.NET steps), so one lane fills the core the
# other leaves idle. Two-thread processes in two lanes are far slower: a parallel operator waits for
# its thread that the other lane holds. docs/testing.md has the figures. BNINCEPTION_TEST_LANES=1 runs
# one lane with libtorch's default threads.
lane_count=${BNINCEPTION_TEST_LANES:-2}
if (( lane_count > 1 )); then
  export BNINCEPTION_NUM_THREADS=1
fi

# Which lane each test process runs in. The ML.NET layer's tests and the docs' tests share a lane:
# both pack into artifacts/packages, and a pack there removes the packs before it. The engine's tests
# run after the Cli tests: their mixed-precision learning test slowed sixfold beside the Cli tests once,
# probably when both computed on two threads (docs/testing.md, "One thread a process"). Their ONNX
# tests, which train nothing, go to the other lane, which ends earlier; in the fast tier, which
# trains nothing at all, with the Cli tests, so that the two lanes end at about the same time. In the
# whole suite the trainer's tests (TrainerTests) and the engine's package test (EnginePackageTests, a
# pack, build and publish) end the other lane too, beside the engine's learning tests: without
# TrainerTests the first lane ended 5 minutes after the second on a processor without AVX-512 and 3
# minutes after it with AVX-512; without EnginePackageTests, 20 s after it. The comparisons with
# PyTorch (PyTorchParityTests, 31 s) went there too while the learning test trained 96 steps, and
# came back once it trained 64 (90 s less).
# (The test platform's filters have no negation of a group, so the complement is written out.)
engine_onnx_part="FullyQualifiedName~.Onnx"
engine_lane_1_part="FullyQualifiedName~.TrainerTests|FullyQualifiedName~.EnginePackageTests"
if (( fast_tier )); then
  engine_part_for_lane_0="FullyQualifiedName!~.Onnx"
else
  engine_part_for_lane_0="FullyQualifiedName!~.Onnx&FullyQualifiedName!~.TrainerTests&FullyQualifiedName!~.EnginePackageTests"
fi
projects=()   # the test project of each run
lanes=()      # its lane
names=()      # its name, which its TRX file carries
parts=()      # a filter that picks its part of the project's tests, or nothing for all of them
add_run() { projects+=("$1"); lanes+=("$2"); names+=("$3"); parts+=("$4"); }
for project in test/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  if (( lane_count == 1 )); then
    add_run "$project" 0 "$name" ""
    continue
  fi
  case "$name" in
    MLNet.BNInception.Engine.Tests)
      add_run "$project" 0 "$name" "$engine_part_for_lane_0"
      add_run "$project" 1 "$name.Onnx" "$engine_onnx_part" ;;
    MLNet.BNInception.Cli.Tests) add_run "$project" $(( fast_tier ? 1 : 0 )) "$name" "" ;;
    *) add_run "$project" 1 "$name" "" ;;
  esac
done
if (( lane_count > 1 && ! fast_tier )); then
  add_run test/MLNet.BNInception.Engine.Tests/MLNet.BNInception.Engine.Tests.csproj 1 MLNet.BNInception.Engine.Tests.Trainer "$engine_lane_1_part"
fi

run_lane() {
  local lane=$1 i run_filter lane_status=0
  shift
  for i in "${!projects[@]}"; do
    [[ "${lanes[$i]}" == "$lane" ]] || continue
    run_filter=()
    if [[ -n "$filter" && -n "${parts[$i]}" ]]; then
      run_filter=(--filter "($filter)&(${parts[$i]})")
    elif [[ -n "$filter${parts[$i]}" ]]; then
      run_filter=(--filter "$filter${parts[$i]}")
    fi
    dotnet test "${projects[$i]}" -c Release --no-build -nologo \
      --logger "trx;LogFileName=${names[$i]}.trx" --logger "console;verbosity=normal" \
      --results-directory "$results" "${run_filter[@]}" "$@" || lane_status=1
  done
  return $lane_status
}

status=0
if (( lane_count > 1 )); then
  lane_pids=()
  for lane in 0 1; do
    run_lane "$lane" "$@" > "$results/lane-$lane.log" 2>&1 &
    lane_pids+=($!)
  done
  for pid in "${lane_pids[@]}"; do
    wait "$pid" || status=1
  done
  # Each lane's output whole, one after the other, so no project's lines interleave with another's.
  cat "$results"/lane-*.log
else
  run_lane 0 "$@" || status=1
fi

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
for name in "${names[@]}"; do
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
