#!/usr/bin/env bash
# The benchmark's GPU mode, run on the GPU machine from the repository root (README.md beside this
# file), after `bash build/gpu-bench.sh prepare` has put the program and a .NET runtime into
# .gpu-bench/ on the machine that sends the tree. It unpacks them, checks the GPU and that TorchSharp
# sees it, runs the sanity check (4 training steps and a scoring pass on cuda against the same on the
# CPU; a disagreement is reported, and the run stops only when TorchSharp cannot compute on the
# device at all), then the measurements, alternating ours and PyTorch, until
# its time budget is spent, and writes to $OUT (else /tmp/gpu-bench-out):
#   results.jsonl    one line per measurement: label, side, the program's JSON line, the GPU memory
#                    it took (nvidia-smi sampled every 100 ms, above what the idle GPU had in use)
#   run.log          everything printed, both sides' error output included
#   table.md         medians, memory and the ratios of issue 22 (python/gpu_report.py)
#   environment.txt  GPU, driver, PyTorch, CUDA, cuDNN, .NET, and the commit the program was built from
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
# so a run call of timeout_s 480 is safe) however long the measurements take: each starts only if its
# estimate fits in what is left, and is stopped at the budget. The estimates, for an H200, from
# docs/gpu.md's last figures (our engine trained at 925 to 1431 images/s at batch 64 in float32,
# TorchSharp's plain loop at 4140 and PyTorch eager at 4343 at batch 256; PyTorch scored 13,500 to
# 34,000 images/s) and a process start of about 5 s (the runtime, loading PyTorch's libtorch, the
# CUDA context, cuDNN); they are generous, so more runs than they promise usually fit:
#   unpacking and checks ~ 10 s; the sanity check (4 steps of batch 16 on each device, three
#   times: plain, augmented, mixed; and scoring)                                               ~ 60 s
#   training, batch 256, 16 warm-up + 3 runs x 16 steps = 16,384 images:
#     ours (engine, loop), each                                   ~ 12-20 s (at 1,000-4,000 images/s)
#     PyTorch eager, each                                         ~ 10 s (at 4,300-5,500 images/s)
#     ML.NET trainer, engine augmenting on the CPU, each          ~ 30 s (reading rows, cropping on the host)
#   scoring, 5 runs of 2,048 (float32 b256) or 4,096 (bfloat16 b1024) images after a warm-up, each ~ 8-12 s
#   round 1: 17 measurements (8 training, 6 scoring, the ML.NET trainer, augmenting, device data)  ~ 230 s
#   torch.compile, bfloat16: training ~ 100 s, scoring b1024 ~ 60 s, most of it compiling        ~ 160 s
#   then, as far as the budget reaches: round 2 of the host-data training pairs (~ 60 s), the
#   bfloat16 host-data scoring pair (~ 25 s), and the other compiled measurements (~ 220 s).
set -uo pipefail
cd "$(dirname "$0")/../.."
bench=test/MLNet.BNInception.GpuBenchmark
trial_libtorch=""
if [[ ${1:-} == --trial ]]; then
  trial_libtorch=$(realpath "$2")
  shift 2
fi
budget=${1:-450}
out=${OUT:-/tmp/gpu-bench-out}
work=/tmp/gpu-bench
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
exec > >(tee -a "$out/run.log") 2>&1
tee_pid=$!
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }

# The sizes and the machine: an H200 with its PyTorch, or this machine's CPU for --trial.
device=cuda size="--side 224 --classes 1000" python=python3
b16=16 b256=256 b1024=1024 train_steps="--warmup 16 --iterations 3 --steps-per-run 16"
score_steps="--warmup 16 --iterations 5 --steps-per-run 8" large_score_steps="--warmup 8 --iterations 5 --steps-per-run 4"
if [[ -n $trial_libtorch ]]; then
  device=cpu size="--side 64 --classes 10" python=/usr/bin/python3
  b16=8 b256=8 b1024=8 train_steps="--warmup 2 --iterations 2 --steps-per-run 2"
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

# measure SIDE LABEL ESTIMATE_SECONDS ARGUMENTS…: one process of SIDE (ours, pytorch or check), if
# its estimate fits in the budget left, stopped at the budget; its JSON line, with the GPU memory it
# took and how long it ran, goes to results.jsonl under LABEL. Returns the process's exit code.
measure() {
  local side=$1 label=$2 estimate=$3
  shift 3
  local now limit code begun ended sampler
  now=$(elapsed)
  if ((now + estimate > budget)); then
    echo "[${now} s] skipped, about ${estimate} s would pass the budget of ${budget} s: $label"
    $python -c 'import json, sys; print(json.dumps({"label": sys.argv[1], "side": sys.argv[2], "skipped": "budget", "result": {}}))' "$label" "$side" >>"$results"
    return 125  # not run: a caller that needs the result must not read this as success
  fi
  limit=$((budget - now))
  ((limit > 3 * estimate + 60)) && limit=$((3 * estimate + 60))
  echo "[${now} s] $label (about ${estimate} s, stopped after ${limit} s)"
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
  cat "$work/stdout"
  $python - "$label" "$side" "$code" "$idle_mib" "$work/memory" "$work/stdout" "$begun" "$ended" >>"$results" <<'PYTHON'
import json, sys
label, side, code, idle, memory, stdout, begun, ended = sys.argv[1:]
lines = [line for line in open(stdout).read().splitlines() if line.strip()]
try:
    result = json.loads(lines[-1])
except (IndexError, ValueError):
    result = {"error": "timed out" if code in ("124", "137") else "exit code %s and no JSON line" % code}
used = [int(value) for value in open(memory).read().split() if value.isdigit()]
peak = max(used) - int(idle) if used and idle.strip().isdigit() else None
print(json.dumps({"label": label, "side": side, "exit_code": int(code), "wall_seconds": round((int(ended) - int(begun)) / 1e9, 1),
                  "gpu_memory_peak_mib": peak, "result": result}))
PYTHON
  return "$code"
}

# 2. The sanity check: a broken GPU path stops the run here, before any time is spent on timing.
# TF32 off (cuDNN and cuBLAS read the variable), so that both devices compute in float32.
export NVIDIA_TF32_OVERRIDE=0
measure check "sanity check: 4 training steps (plain, augmented, mixed) and scoring on $device against the CPU" 60 --mode check --batch $b16
code=$?
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
    measure probe "probe: the scorer on $device" 20 --mode score --batch $b16 --warmup 1 --iterations 1 --steps-per-run 1 --data device ||
      fail "TorchSharp cannot compute on $device (the check's exit code $code: $why; is LD_LIBRARY_PATH=$torch_lib PyTorch's lib/?). Nothing was timed."
    echo "run-on-device: WARNING: TorchSharp scores on $device, but the sanity check did not finish; the measurements go on."
    ;;
esac

# 3. The measurements: "side|label|estimate|arguments", in the order they run; ours and PyTorch's
# of a pair run back to back. Images 224x224, 1000 classes, random data, channels-last throughout.
train="$train_steps --batch $b256"
score256="--mode score --batch $b256 $score_steps"
score1024="--mode score --batch $b1024 $large_score_steps"
host_training=(
  "ours|train b256 float32, host data: ours, engine|20|--mode train-engine $train"
  "pytorch|train b256 float32, host data: PyTorch eager|10|--mode train $train"
  "ours|train b256 bfloat16, host data: ours, engine (mixed)|18|--mode train-engine --precision bfloat16-mixed $train"
  "pytorch|train b256 bfloat16, host data: PyTorch eager (autocast)|10|--mode train --precision bfloat16-autocast $train"
)
round_one=(
  "${host_training[@]}"
  "ours|score b256 float32, device data: ours|8|$score256 --data device"
  "pytorch|score b256 float32, device data: PyTorch eager|8|$score256 --data device"
  "ours|score b1024 bfloat16, device data: ours|10|$score1024 --precision bfloat16 --data device"
  "pytorch|score b1024 bfloat16, device data: PyTorch eager|10|$score1024 --precision bfloat16 --data device"
  "ours|train b256 float32, host data: ours, ML.NET trainer|30|--mode train-mlnet $train"
  "ours|train b256 float32, device data: ours, plain TorchSharp loop|12|--mode train-loop $train"
  "pytorch|train b256 float32, device data: PyTorch eager|10|--mode train --data device $train"
  "ours|train b256 bfloat16, device data: ours, plain TorchSharp loop (mixed)|12|--mode train-loop --precision bfloat16-mixed $train"
  "pytorch|train b256 bfloat16, device data: PyTorch eager (autocast)|10|--mode train --precision bfloat16-autocast --data device $train"
  "ours|score b256 float32, host data: ours|8|$score256"
  "pytorch|score b256 float32, host data: PyTorch eager|8|$score256"
  "ours|train b256 float32, host data, augmented: ours, engine|30|--mode train-engine --augment $train"
  "ours|train b256 float32, device data: ours, engine|15|--mode train-engine --data device $train"
)
compiled_bfloat16=(
  "pytorch|train b256 bfloat16, device data: PyTorch compiled (autocast)|100|--mode train --compile --precision bfloat16-autocast --data device $train"
  "pytorch|score b1024 bfloat16, device data: PyTorch compiled|60|$score1024 --compile --precision bfloat16 --data device"
)
if_time_allows=(
  "${host_training[@]}"
  "ours|score b1024 bfloat16, host data: ours|12|$score1024 --precision bfloat16"
  "pytorch|score b1024 bfloat16, host data: PyTorch eager|12|$score1024 --precision bfloat16"
  "pytorch|train b256 float32, device data: PyTorch compiled|100|--mode train --compile --data device $train"
  "pytorch|score b256 float32, device data: PyTorch compiled|60|$score256 --compile --data device"
  "pytorch|train b256 bfloat16, host data: PyTorch compiled (autocast)|60|--mode train --compile --precision bfloat16-autocast $train"
)
for configuration in "${round_one[@]}" "${compiled_bfloat16[@]}" "${if_time_allows[@]}"; do
  IFS='|' read -r side label estimate arguments <<<"$configuration"
  read -r -a arguments <<<"$arguments"
  measure "$side" "$label" "$estimate" "${arguments[@]}"
done

echo "[$(elapsed) s] done"
finish
