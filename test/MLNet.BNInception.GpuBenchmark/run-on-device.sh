#!/usr/bin/env bash
# The benchmark's GPU mode, run on the GPU machine from the repository root (README.md beside this
# file), after `bash build/gpu-bench.sh prepare` has put the program and a .NET runtime into
# .gpu-bench/ on the machine that sends the tree. It unpacks them, checks the GPU and that TorchSharp
# sees it, runs the sanity check (4 training steps and a scoring pass on cuda against the same on the
# CPU; a disagreement is reported, and the run stops only when TorchSharp cannot compute on the
# device at all), then the measurements, ours and PyTorch's side by side, until its time budget is
# spent, and writes to a folder named for docs/benchmarks/ (DATE-GPU, as
# 2026-12-07-nvidia-h200; DATE-trial-cpu for --trial) in $OUT (else /tmp/gpu-bench-out):
#   results.jsonl    one line per measurement: label, side, round, the program's JSON line, the GPU
#                    memory it took (nvidia-smi sampled every 100 ms, above what the idle GPU had in
#                    use), its estimate and how long it took
#   run.log          everything printed, both sides' error output included
#   table.md         medians, memory and the ratios of issue 22 (python/gpu_report.py)
#   environment.txt  GPU, driver, PyTorch, CUDA, cuDNN, .NET, and the commit the program was built from
# The folder is what docs/benchmarks/ keeps of the run: copy it there whole.
#
#   bash test/MLNet.BNInception.GpuBenchmark/run-on-device.sh [BUDGET_SECONDS, default 450]
#   bash test/MLNet.BNInception.GpuBenchmark/run-on-device.sh --trial LIBTORCH_FOLDER [BUDGET_SECONDS]
# --trial runs the same flow on this machine's CPU at a tiny size (64x64, 10 classes, batches of 8,
# a few steps; the labels keep their batch sizes), with that CPU libtorch 2.10 folder for TorchSharp,
# Debian's PyTorch at /usr/bin/python3 and no nvidia-smi: to try the script and the carried runtime
# before spending device time. Its figures mean nothing.
#
# The budget. The device tool allows 10 minutes a command and 15 minutes of device time a session,
# the machine's start included; this script ends within BUDGET_SECONDS (450 s by default: 7.5 minutes,
# so a run call of timeout_s 480 is safe) however long the measurements take. The measurements come
# in groups: the wanted comparisons of issue 22 (ours and PyTorch's side of one comparison, and for
# scoring PyTorch with BN folded too), run in rounds, then once each, with what time is left, the
# information (the plain TorchSharp loop, augmentation, torch.compile). A group starts only if the
# estimates of all its measurements fit in what is left, so a comparison runs whole or not at all,
# and each process is stopped at the budget. Until a measurement has run, its estimate is the one
# written beside it below; after that, what it took (plus 10% and 2 s), so that later rounds are
# planned from this machine's own times. The written estimates, for an H200, from docs/gpu.md's last
# figures (our engine trained at 925 to 1431 images/s at batch 64 in float32, TorchSharp's plain loop
# at 4140 and PyTorch eager at 4343 at batch 256; PyTorch scored 13,500 to 34,000 images/s) and a
# process start of about 5 s (the runtime, loading PyTorch's libtorch, the CUDA context, cuDNN):
#   unpacking and checks ~ 10 s; the sanity check (4 steps of batch 16 on each device, three
#   times: plain, augmented, mixed; and scoring)                                               ~ 60 s
#   training, 16 warm-up + 3 runs x 16 steps (batch 256: 16,384 images; batch 64: 4,096):
#     ours (engine), each                                    ~ 15-20 s at batch 256, ~ 10 s at batch 64
#     PyTorch eager, each                                    ~ 10 s at batch 256, ~ 7 s at batch 64
#     ML.NET trainer, each                                   ~ 30 s (reading rows)
#   scoring, 5 runs of 2,048 (float32 b256) or 4,096 (bfloat16 b1024) images after a warm-up, each ~ 8-12 s
#   one round of the 10 wanted groups (25 measurements)                                       ~ 290 s
#   so round 1 ends near 360 s and round 2 runs as far as the rest reaches (with the times of round
#   1, often further than these estimates promise); the information, torch.compile's ~ 60-100 s
#   each above all, runs only where time is still left.
set -uo pipefail
cd "$(dirname "$0")/../.."
bench=test/MLNet.BNInception.GpuBenchmark
trial_libtorch=""
if [[ ${1:-} == --trial ]]; then
  trial_libtorch=$(realpath "$2")
  shift 2
fi
budget=${1:-450}
# The folder's name, as docs/benchmarks/ keeps it: the date (UTC) and the GPU, as nvidia-smi names it.
if [[ -n $trial_libtorch ]]; then
  machine=trial-cpu
else
  machine=$(nvidia-smi --query-gpu=name --format=csv,noheader --id=0 2>/dev/null | head -n 1 | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g')
fi
out=${OUT:-/tmp/gpu-bench-out}/$(date -u +%F)-${machine:-no-gpu}
work=/tmp/gpu-bench
rm -rf "$out"
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
exec > >(tee -a "$out/run.log") 2>&1
tee_pid=$!
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }

# The sizes and the machine: an H200 with its PyTorch, or this machine's CPU for --trial.
device=cuda size="--side 224 --classes 1000" python=python3
b16=16 b64=64 b256=256 b1024=1024 train_steps="--warmup 16 --iterations 3 --steps-per-run 16"
score_steps="--warmup 16 --iterations 5 --steps-per-run 8" large_score_steps="--warmup 8 --iterations 5 --steps-per-run 4"
if [[ -n $trial_libtorch ]]; then
  device=cpu size="--side 64 --classes 10" python=/usr/bin/python3
  b16=8 b64=8 b256=8 b1024=8 train_steps="--warmup 2 --iterations 2 --steps-per-run 2"
  score_steps="--warmup 2 --iterations 2 --steps-per-run 2" large_score_steps=$score_steps
fi

finish() {
  $python "$bench/python/gpu_report.py" "$results" >"$out/table.md" && cat "$out/table.md"
  exec >&- 2>&-
  wait "$tee_pid"
}

fail() {
  echo "run-on-device: $*"
  finish
  exit 1
}

# 1. The program and the runtime, the GPU, and PyTorch's libtorch for TorchSharp.
[[ -f .gpu-bench/app.tar.xz && -f .gpu-bench/dotnet.tar.xz ]] ||
  fail ".gpu-bench/app.tar.xz or dotnet.tar.xz is missing: run 'bash build/gpu-bench.sh prepare' in the checkout that is sent, and name .gpu-bench in the run call's carry."
rm -rf "$work"
mkdir -p "$work/dotnet" "$work/app"
# tar needs the xz program for -J, which a minimal image may lack; Python's tarfile reads xz itself.
unpack() {
  if command -v xz >/dev/null; then
    tar -xJf "$1" -C "$2"
  else
    $python -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}
unpack .gpu-bench/dotnet.tar.xz "$work/dotnet" && unpack .gpu-bench/app.tar.xz "$work/app" || fail "could not unpack .gpu-bench/"
# Invariant globalization: nothing here formats for a culture, and the machine need not have ICU.
export DOTNET_ROOT=$work/dotnet PATH=$work/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
if [[ -z $trial_libtorch ]]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi is not on the PATH: this machine has no NVIDIA driver."
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi sees no GPU."
  torch_lib=$($python -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') ||
    fail "$python has no PyTorch: TorchSharp needs its libtorch (torch/lib) here."
  $python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || fail "PyTorch sees no CUDA device."
  idle_mib=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits --id=0)
else
  torch_lib=$trial_libtorch idle_mib=""
fi
{
  echo "date: $(date -u +%FT%TZ), budget ${budget} s${trial_libtorch:+, TRIAL on the CPU (figures mean nothing)}"
  cat .gpu-bench/build-info.txt
  [[ -z $trial_libtorch ]] && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
  $python -c 'import platform, torch; print("Python", platform.python_version(), "PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())'
  echo "TorchSharp's libtorch: $torch_lib"
  # Our native library was built against libtorch 2.10: a library it needs that is not there, or a
  # symbol this libtorch lacks (found at the first call otherwise, as a crash mid-run), shows here.
  if needed=$(LD_LIBRARY_PATH=$torch_lib ldd "$work/app/libLibTorchSharp.so" 2>&1); then
    grep -i 'not found' <<<"$needed" || echo "libLibTorchSharp.so: every library it needs found"
  else
    echo "ldd could not read libLibTorchSharp.so: $needed"
  fi
  LD_BIND_NOW=1 LD_LIBRARY_PATH=$torch_lib $python -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1]); print("libLibTorchSharp.so: every symbol bound")' \
    "$work/app/libLibTorchSharp.so" 2>&1 | tail -3
  dotnet --list-runtimes
  echo "$(nproc) cores; $(uname -sr)"
} >"$out/environment.txt" 2>&1
cat "$out/environment.txt"

ours=(env LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" dotnet "$work/app/MLNet.BNInception.GpuBenchmark.dll")
pytorch=($python "$bench/python/pytorch_gpu_bench.py")

# What a measurement is expected to take: the estimate written beside it until it has run in this
# session, then what it took, plus 10% and 2 s.
declare -A took=()
estimate_for() { # LABEL WRITTEN_ESTIMATE
  if [[ -n ${took[$1]:-} ]]; then echo $(((took[$1] * 11 + 9) / 10 + 2)); else echo "$2"; fi
}

# skip SIDE LABEL ESTIMATE ROUND PHASE WHY: a measurement not run, as a line of results.jsonl.
skip() {
  echo "[$(elapsed) s] skipped ($6): $2"
  $python -c 'import json, sys; print(json.dumps({"label": sys.argv[1], "side": sys.argv[2], "estimate_seconds": int(sys.argv[3]), "round": int(sys.argv[4]), "phase": sys.argv[5], "skipped": sys.argv[6], "result": {}}))' \
    "$2" "$1" "$3" "$4" "$5" "$6" >>"$results"
}

# measure SIDE LABEL ESTIMATE ROUND PHASE ARGUMENTS…: one process of SIDE (ours, pytorch, check or
# probe), stopped at the budget (or at 3 times its estimate and a minute, if that comes first); its
# JSON line, with the GPU memory it took, how long it ran, its estimate, round and phase, goes to
# results.jsonl under LABEL. Whether it fits is its caller's decision (run_group, or the checks').
# Returns the process's exit code, or 125 when no time at all was left.
measure() {
  local side=$1 label=$2 estimate=$3 round=$4 phase=$5
  shift 5
  local now limit code begun ended sampler
  now=$(elapsed)
  limit=$((budget - now))
  if ((limit < 1)); then
    skip "$side" "$label" "$estimate" "$round" "$phase" "budget: none left"
    return 125  # not run: a caller that needs the result must not read this as success
  fi
  ((limit > 3 * estimate + 60)) && limit=$((3 * estimate + 60))
  echo "[${now} s] $label (round $round; about ${estimate} s, stopped after ${limit} s)"
  local command=("${ours[@]}")
  [[ $side == pytorch ]] && command=("${pytorch[@]}")
  : >"$work/memory"
  sampler=""
  if [[ -n $idle_mib ]]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits --id=0 -lms 100 >"$work/memory" 2>/dev/null &
    sampler=$!
  fi
  begun=$(date +%s%N)
  timeout --kill-after=10 "$limit" "${command[@]}" --device "$device" $size "$@" >"$work/stdout"
  code=$?
  ended=$(date +%s%N)
  if [[ -n $sampler ]]; then
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
  fi
  took[$label]=$(((ended - begun + 999999999) / 1000000000))
  cat "$work/stdout"
  $python - "$label" "$side" "$code" "$idle_mib" "$work/memory" "$work/stdout" "$begun" "$ended" "$estimate" "$round" "$phase" >>"$results" <<'PYTHON'
import json, sys
label, side, code, idle, memory, stdout, begun, ended, estimate, round_, phase = sys.argv[1:]
lines = [line for line in open(stdout).read().splitlines() if line.strip()]
try:
    result = json.loads(lines[-1])
except (IndexError, ValueError):
    result = {"error": "timed out" if code in ("124", "137") else "exit code %s and no JSON line" % code}
used = [int(value) for value in open(memory).read().split() if value.isdigit()]
peak = max(used) - int(idle) if used and idle.strip().isdigit() else None
print(json.dumps({"label": label, "side": side, "round": int(round_), "phase": phase, "exit_code": int(code),
                  "estimate_seconds": int(estimate), "wall_seconds": round((int(ended) - int(begun)) / 1e9, 1),
                  "gpu_memory_peak_mib": peak, "result": result}))
PYTHON
  return "$code"
}

# run_group ROUND PHASE ENTRY…: the measurements of one comparison ("side|label|estimate|arguments"
# each), whole or not at all: they start only if all their estimates fit in what is left of the
# budget, one after another in the order given.
run_group() {
  local round=$1 phase=$2
  shift 2
  local entry side label estimate arguments total=0
  for entry in "$@"; do
    IFS='|' read -r side label estimate arguments <<<"$entry"
    total=$((total + $(estimate_for "$label" "$estimate")))
  done
  if (($(elapsed) + total > budget)); then
    for entry in "$@"; do
      IFS='|' read -r side label estimate arguments <<<"$entry"
      skip "$side" "$label" "$(estimate_for "$label" "$estimate")" "$round" "$phase" "budget: its group needs about ${total} s, ${budget} s would pass"
    done
    return 1
  fi
  for entry in "$@"; do
    IFS='|' read -r side label estimate arguments <<<"$entry"
    read -r -a arguments <<<"$arguments"
    measure "$side" "$label" "$(estimate_for "$label" "$estimate")" "$round" "$phase" "${arguments[@]}"
  done
  return 0
}

# 2. The sanity check: a broken GPU path stops the run here, before any time is spent on timing.
# TF32 off (cuDNN and cuBLAS read the variable), so that both devices compute in float32.
export NVIDIA_TF32_OVERRIDE=0
check_label="sanity check: 4 training steps (plain, augmented, mixed) and scoring on $device against the CPU"
if (($(elapsed) + 60 <= budget)); then
  measure check "$check_label" 60 0 check --mode check --batch $b16
  code=$?
else
  skip check "$check_label" 60 0 check "budget: about 60 s would pass ${budget} s"
  code=125
fi
unset NVIDIA_TF32_OVERRIDE
# A disagreement, or a failure in the check's later parts, does not cost the session's measurements:
# it is reported, and the run goes on when TorchSharp computes on the device at all (a short probe).
case $code in
  0) ;;
  4) echo "run-on-device: WARNING: the sanity check found the device and the CPU disagreeing beyond 1e-3 (its line above); the measurements go on, to be read with that." ;;
  *)
    case $code in
      125) why="it was skipped: too little of the budget was left" ;;
      124 | 137) why="it ran past its time" ;;
      127) why="a library or symbol was not found (environment.txt's ldd and binding lines)" ;;
      134 | 139) why="it crashed (an abort, from native code or an unhandled .NET exception, or a segmentation fault)" ;;
      *) why="its line above says why" ;;
    esac
    echo "run-on-device: the sanity check did not finish (exit code $code: $why); probing whether TorchSharp computes on $device at all"
    measure probe "probe: the scorer on $device" 20 0 check --mode score --batch $b16 --warmup 1 --iterations 1 --steps-per-run 1 --data device ||
      fail "TorchSharp cannot compute on $device (the check's exit code $code: $why; is LD_LIBRARY_PATH=$torch_lib PyTorch's lib/?). Nothing was timed."
    echo "run-on-device: WARNING: TorchSharp scores on $device, but the sanity check did not finish; the measurements go on."
    ;;
esac

# 3. The measurements, in groups of "side|label|estimate|arguments" entries (run_group above).
# Images 224x224, 1000 classes, random data, channels-last throughout. The wanted comparisons of
# issue 22 come first, in rounds: training at batch 64 and 256 in float32 and at 256 in mixed
# precision, each from host memory and from data already on the GPU (ours: the engine; PyTorch:
# eager, autocast for mixed precision); the ML.NET trainer beside the engine; scoring float32 b256
# and bfloat16 b1024 against PyTorch eager as it is and with BN folded, as ours is. In every second
# round each group runs in reverse order, so that neither side always goes first.
train="$train_steps --batch $b256" train64="$train_steps --batch $b64"
score256="--mode score --batch $b256 $score_steps"
score1024="--mode score --batch $b1024 $large_score_steps"
train256_host=(
  "ours|train b256 float32, host data: ours, engine|20|--mode train-engine $train"
  "pytorch|train b256 float32, host data: PyTorch eager|10|--mode train $train"
  "ours|train b256 float32, host data: ours, ML.NET trainer|30|--mode train-mlnet $train"
)
train256_bfloat16_host=(
  "ours|train b256 bfloat16, host data: ours, engine (mixed)|18|--mode train-engine --precision bfloat16-mixed $train"
  "pytorch|train b256 bfloat16, host data: PyTorch eager (autocast)|10|--mode train --precision bfloat16-autocast $train"
)
score256_device=(
  "ours|score b256 float32, device data: ours|8|$score256 --data device"
  "pytorch|score b256 float32, device data: PyTorch eager|8|$score256 --data device"
  "pytorch|score b256 float32, device data: PyTorch eager, BN fused|8|$score256 --data device --fuse"
)
score1024_device=(
  "ours|score b1024 bfloat16, device data: ours|10|$score1024 --precision bfloat16 --data device"
  "pytorch|score b1024 bfloat16, device data: PyTorch eager|10|$score1024 --precision bfloat16 --data device"
  "pytorch|score b1024 bfloat16, device data: PyTorch eager, BN fused|10|$score1024 --precision bfloat16 --data device --fuse"
)
train64_host=(
  "ours|train b64 float32, host data: ours, engine|10|--mode train-engine $train64"
  "pytorch|train b64 float32, host data: PyTorch eager|7|--mode train $train64"
)
train256_device=(
  "ours|train b256 float32, device data: ours, engine|15|--mode train-engine --data device $train"
  "pytorch|train b256 float32, device data: PyTorch eager|10|--mode train --data device $train"
)
train256_bfloat16_device=(
  "ours|train b256 bfloat16, device data: ours, engine (mixed)|15|--mode train-engine --precision bfloat16-mixed --data device $train"
  "pytorch|train b256 bfloat16, device data: PyTorch eager (autocast)|10|--mode train --precision bfloat16-autocast --data device $train"
)
train64_device=(
  "ours|train b64 float32, device data: ours, engine|10|--mode train-engine --data device $train64"
  "pytorch|train b64 float32, device data: PyTorch eager|7|--mode train --data device $train64"
)
score256_host=(
  "ours|score b256 float32, host data: ours|8|$score256"
  "pytorch|score b256 float32, host data: PyTorch eager|8|$score256"
  "pytorch|score b256 float32, host data: PyTorch eager, BN fused|8|$score256 --fuse"
)
score1024_host=(
  "ours|score b1024 bfloat16, host data: ours|12|$score1024 --precision bfloat16"
  "pytorch|score b1024 bfloat16, host data: PyTorch eager|12|$score1024 --precision bfloat16"
  "pytorch|score b1024 bfloat16, host data: PyTorch eager, BN fused|12|$score1024 --precision bfloat16 --fuse"
)
wanted=(train256_host train256_bfloat16_host score256_device score1024_device train64_host train256_device
  train256_bfloat16_device train64_device score256_host score1024_host)
# Then, once each, as far as the time left allows: what TorchSharp itself reaches, what augmenting
# costs, and torch.compile (information: "aim at", no target; compiled scoring on the BN-folded network).
information=(
  "ours|train b256 float32, device data: ours, plain TorchSharp loop|12|--mode train-loop $train"
  "ours|train b256 bfloat16, device data: ours, plain TorchSharp loop (mixed)|12|--mode train-loop --precision bfloat16-mixed $train"
  "ours|train b256 float32, host data, augmented: ours, engine|30|--mode train-engine --augment $train"
  "pytorch|train b256 bfloat16, device data: PyTorch compiled (autocast)|100|--mode train --compile --precision bfloat16-autocast --data device $train"
  "pytorch|score b1024 bfloat16, device data: PyTorch compiled, BN fused|60|$score1024 --compile --precision bfloat16 --data device --fuse"
  "pytorch|train b256 float32, device data: PyTorch compiled|100|--mode train --compile --data device $train"
  "pytorch|score b256 float32, device data: PyTorch compiled, BN fused|60|$score256 --compile --data device --fuse"
  "pytorch|train b256 bfloat16, host data: PyTorch compiled (autocast)|60|--mode train --compile --precision bfloat16-autocast $train"
)

rounds=2
for ((round = 1; round <= rounds; round++)); do
  echo "[$(elapsed) s] round $round of the wanted comparisons$( ((round % 2 == 0)) && echo ', each group in reverse order')"
  for name in "${wanted[@]}"; do
    declare -n group=$name
    entries=("${group[@]}")
    unset -n group
    if ((round % 2 == 0)); then
      for ((i = 0, j = ${#entries[@]} - 1; i < j; i++, j--)); do
        entry=${entries[i]} entries[i]=${entries[j]} entries[j]=$entry
      done
    fi
    run_group "$round" wanted "${entries[@]}"
  done
done
echo "[$(elapsed) s] the information, once each"
for entry in "${information[@]}"; do
  run_group 1 information "$entry"
done

echo "[$(elapsed) s] done"
finish
