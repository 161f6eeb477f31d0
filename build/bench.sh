#!/usr/bin/env bash
# The benchmark (never part of the test suite): BN-Inception in this project against Debian's
# PyTorch 1.13, ONNX Runtime 1.32 and ML.NET's ApplyOnnxModel, on identical work, in one run, with
# the same thread count (BNINCEPTION_NUM_THREADS, default: the number of cores). Every measurement is
# a process of its own (warm-up steps first, then timed steps, median kept); the sides alternate,
# and the round repeats REPEATS times (default 3). Then, once each: bfloat16's agreement with
# float32, the image steps alone, the ML.NET trainer fed from JPEG files (its list read from the file or
# held in ML.NET's cache, whole or with 10% held out), and the bninception score
# job over 2,000 JPEG files. The report (table, targets, chart) goes to standard output and to
# --chart. docs/performance.md records a run.
#   bash build/bench.sh [--repeats 3] [--out results.jsonl] [--chart docs/performance-ratios.png]
# Every run keeps its raw lines and its printed report where the repository can commit them:
# docs/benchmarks/DATE-PROCESSOR.jsonl and .md (the date in UTC; the processor's name, family and
# model, and "no-avx512" where it lacks AVX-512; -2, -3, … for another run of the same day and
# kind), or --out's .jsonl and a .md beside it. They are put there once the run has finished, so
# nothing half-written is left behind. A relative --out or --chart is taken from the folder the command
# is run in; the defaults are the repository's.
set -euo pipefail

usage_error() { echo "bench: $1 (try --help)" >&2; exit 2; }
repeats=3 out="" chart=docs/performance-ratios.png
while (($#)); do
  case "$1" in
    --repeats|--out|--chart)
      # Every option here takes a value: there, not empty, and not the next option.
      [[ $# -ge 2 && -n $2 && $2 != --* ]] || usage_error "$1 needs a value"
      case "$1" in
        --repeats) [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--repeats needs a whole number above 0, not '$2'"; repeats=$2 ;;
        --out) out=$(realpath -m -- "$2") ;;
        --chart) chart=$(realpath -m -- "$2") ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
cd "$(dirname "$0")/.."
source build/quietly.sh
# The commit measured, read before the run writes anything: its own files (the raw lines kept in
# docs/benchmarks/, the chart) would otherwise count as uncommitted changes.
# (Not `[[ -n … ]] && echo`: on a clean tree that substitution fails, and set -e would end the script here.)
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -z "$(git status --porcelain 2>/dev/null)" ]] || echo ', with uncommitted changes')"

# The processor by name, family and model: one name ("AMD EPYC") covers machines of different
# generations in our pool, whose figures differ (docs/performance.md shows each kind). Whether the
# virtual machine shows AVX-512 too: the same family and model came both ways, and bfloat16 takes a
# different path without it (docs/engine.md, "Processors without AVX-512"). Without it, PyTorch
# 1.13's autocast runs its bfloat16 convolutions at 1/22 to 1/37 of its float32 speed (one 224x224
# training measurement took 589 s): those rows leave the rounds and run once after them, one timed
# step each and no warm-up (a first step's setup is seconds against minutes of arithmetic). Ours gets
# its warm-up, 5 steps and 3 rounds there too, so the report calls such a target "not comparable"
# rather than met or missed (every line gives its warm-up and timed steps, and the report compares them).
avx512=$(grep -qw avx512bw /proc/cpuinfo && echo "AVX-512" || echo "no AVX-512")
cpu="$(lscpu | sed -n 's/^Model name: *//p') (CPU family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p'), $avx512)"
# The same in a file name: "AMD EPYC (CPU family 26, model 2, AVX-512)" becomes amd-epyc-family26-model2.
processor=$(lscpu | sed -n 's/^Model name: *//p' | tr 'A-Z' 'a-z' | sed -E 's/\((r|tm)\)//g; s/@.*//; s/\b(processor|cpu)\b//g; s/[^a-z0-9]+/-/g; s/^-+|-+$//g')
processor="${processor:-cpu}-family$(lscpu | sed -n 's/^CPU family: *//p')-model$(lscpu | sed -n 's/^Model: *//p')"
[[ $avx512 == "AVX-512" ]] || processor+=-no-avx512
if [[ -z $out ]]; then
  stem=docs/benchmarks/$(date -u +%F)-$processor
  out=$stem.jsonl
  n=1
  while [[ -e $out || -e ${out%.jsonl}.md ]]; do
    n=$((n + 1))
    out=$stem-$n.jsonl
  done
fi
report=${out%.jsonl}.md

quietly bench "the setup and build (build/setup.sh --with-test-deps)" bash build/setup.sh --with-test-deps
quietly bench "the report program's build" dotnet build test/MLNet.BNInception.Benchmarks.Report -c Release -nologo -v quiet
threads=${BNINCEPTION_NUM_THREADS:-$(nproc)}
export BNINCEPTION_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
: > "$results"
ours=(dotnet test/MLNet.BNInception.Benchmarks/bin/Release/net10.0/MLNet.BNInception.Benchmarks.dll)
pytorch=(/usr/bin/python3 test/MLNet.BNInception.Benchmarks/python/pytorch_bench.py --threads "$threads")

# glibc's malloc serves blocks above 32 MiB with fresh pages and unmaps them on free; these settings
# (docs/performance.md) keep them in the heap for reuse. Only the rows marked "malloc tuned" use them.
malloc_tuned=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:glibc.malloc.arena_max=1

record() { # label, then the command; keeps the command's last line (its JSON) under the label
  local label=$1; shift
  local line
  line=$("$@" | tail -n 1)
  echo "$label: $line" >&2
  printf '{"label": "%s", "result": %s}\n' "$label" "$line" >>"$results"
}

configurations=(
  "train 224x224 b32: ours, float32|ours|--mode train --side 224 --batch 32"
  "train 224x224 b32: ours, BnInceptionTrainer, float32|ours|--mode train-engine --side 224 --batch 32"
  "train 224x224 b32: ours, BnInceptionTrainer, bfloat16 mixed|ours|--mode train-engine --side 224 --batch 32 --precision bfloat16-mixed"
  "train 224x224 b32: ours, float32, malloc tuned|ours-tuned|--mode train --side 224 --batch 32"
  "train 224x224 b32: PyTorch channels-last, float32|pytorch|--mode train --side 224 --batch 32"
  "train 224x224 b32: ours, bfloat16 mixed|ours|--mode train --side 224 --batch 32 --precision bfloat16-mixed"
  "train 224x224 b32: PyTorch channels-last, autocast bfloat16|pytorch|--mode train --side 224 --batch 32 --precision bfloat16-autocast"
  "train 224x224 b32: ours, contiguous, float32|ours|--mode train --side 224 --batch 32 --layout contiguous"
  "train 224x224 b32: PyTorch contiguous, float32|pytorch|--mode train --side 224 --batch 32 --layout contiguous"
  "train 96x96 b64: ours, float32|ours|--mode train --side 96 --batch 64"
  "train 96x96 b64: PyTorch channels-last, float32|pytorch|--mode train --side 96 --batch 64"
  "train 96x96 b64: ours, bfloat16 mixed|ours|--mode train --side 96 --batch 64 --precision bfloat16-mixed"
  "train 96x96 b64: PyTorch channels-last, autocast bfloat16|pytorch|--mode train --side 96 --batch 64 --precision bfloat16-autocast"
  "infer 224x224 b32: ours, float32|ours|--mode infer --side 224 --batch 32"
  "infer 224x224 b32: ours, float32, malloc tuned|ours-tuned|--mode infer --side 224 --batch 32"
  "infer 224x224 b32: PyTorch channels-last, float32|pytorch|--mode infer --side 224 --batch 32"
  "infer 224x224 b32: ONNX Runtime, float32|ours|--mode infer-onnxruntime --side 224 --batch 32"
  "infer 224x224 b32: PyTorch channels-last, BN fused, float32|pytorch|--mode infer --side 224 --batch 32 --fuse"
  "infer 224x224 b32: ours, bfloat16|ours|--mode infer --side 224 --batch 32 --precision bfloat16"
  "infer 224x224 b32: PyTorch channels-last, autocast bfloat16|pytorch|--mode infer --side 224 --batch 32 --precision bfloat16-autocast"
  "infer 224x224 b32: ML.NET ApplyOnnxModel, float32|ours|--mode infer-mlnet-onnx --side 224 --batch 32"
  "infer 224x224 b64: ONNX Runtime, float32|ours|--mode infer-onnxruntime --side 224 --batch 64"
  "infer 224x224 b1: ours, float32|ours|--mode infer --side 224 --batch 1 --warmup 5 --iterations 30"
  "infer 224x224 b1: ONNX Runtime, float32|ours|--mode infer-onnxruntime --side 224 --batch 1 --warmup 5 --iterations 30"
  "infer 224x224 b1: PyTorch channels-last, float32|pytorch|--mode infer --side 224 --batch 1 --warmup 5 --iterations 30"
  "infer 224x224 b1: ours, bfloat16|ours|--mode infer --side 224 --batch 1 --warmup 5 --iterations 30 --precision bfloat16"
)
slow_autocast() { [[ $avx512 == "no AVX-512" && $1 == *"|pytorch|"*bfloat16-autocast* ]]; } # a configuration line
measure() { # one configuration line, then extra options
  local label who options
  IFS='|' read -r label who options <<<"$1"
  read -r -a options <<<"$options"
  options+=("${@:2}")
  case $who in
    ours) record "$label" "${ours[@]}" "${options[@]}" ;;
    ours-tuned) GLIBC_TUNABLES=$malloc_tuned record "$label" "${ours[@]}" "${options[@]}" ;;
    *) record "$label" "${pytorch[@]}" "${options[@]}" ;;
  esac
}
for ((round = 1; round <= repeats; round++)); do
  for configuration in "${configurations[@]}"; do
    slow_autocast "$configuration" || measure "$configuration"
  done
done
for configuration in "${configurations[@]}"; do
  ! slow_autocast "$configuration" || measure "$configuration" --warmup 0 --iterations 1
done

# Once each: the real-data and end-to-end measurements.
jpegs=$work/jpegs
record "agreement" "${ours[@]}" --mode agreement
record "decode 224x224: ML.NET image transforms, $threads threads" "${ours[@]}" --mode decode --side 224 --images 2000 --threads "$threads" --folder "$jpegs"
# The list read from its text file (through ML.NET's shuffle pool) or held in ML.NET's cache as bninception train
# holds it (read in any order), each whole and with 10% held out (each pass then reads its row ids first and
# fetches its own rows' images only). The last one's model (they write the same file) is the score job's, below.
record "pipeline 224x224 b32: ML.NET trainer from JPEG files, list cached" "${ours[@]}" --mode pipeline-train --side 224 --batch 32 --images 2000 --train-images 320 --folder "$jpegs" --list cached
record "pipeline 224x224 b32: ML.NET trainer from JPEG files, list cached, 10% held out" "${ours[@]}" --mode pipeline-train --side 224 --batch 32 --images 2000 --train-images 320 --folder "$jpegs" --list cached --hold-out 0.1
record "pipeline 224x224 b32: ML.NET trainer from JPEG files, 10% held out" "${ours[@]}" --mode pipeline-train --side 224 --batch 32 --images 2000 --train-images 320 --folder "$jpegs" --hold-out 0.1
record "pipeline 224x224 b32: ML.NET trainer from JPEG files" "${ours[@]}" --mode pipeline-train --side 224 --batch 32 --images 2000 --train-images 320 --folder "$jpegs"
quietly bench "the tool's install (build/install-tool.sh)" bash build/install-tool.sh --tool-path "$work/tool"
"$work/tool/bninception" score --model "$jpegs/model.zip" --input "$jpegs/images.csv" --output "$work/predictions.csv" --batch 64 --threads "$threads" \
  2>&1 | tee "$work/score.log" >&2
rate=$(grep -oE '[0-9.]+ rows/s' "$work/score.log" | tail -n 1 | cut -d' ' -f1)
printf '{"label": "%s", "result": {"images_per_second": %s, "rounds": 1}}\n' "score job 224x224 b64: bninception score, 2,000 JPEG files" "$rate" >>"$results"

# Kept: copied beside their final names, then renamed, so that a name holds a whole file or none.
keep() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.partial"
  mv "$2.partial" "$2"
}
# The raw lines first: a report that fails (a line it cannot read, the chart) must not take the
# run's measurements with it when the work folder goes.
keep "$results" "$out"

report_status=0
{
  echo "# BN-Inception benchmark, $(date -u +%Y-%m-%d), $cpu, $(nproc) cores, $threads threads"
  echo "- commit $commit"
  [[ $avx512 == "AVX-512" ]] || echo "- without AVX-512: PyTorch's autocast rows ran once, after the rounds, 1 timed step and no warm-up (their targets: not comparable)"
  echo "- .NET $(dotnet --version), TorchSharp 0.107.0, libtorch 2.10.0, ONNX Runtime 1.32.0, ML.NET 6.0.0;" \
    "$(/usr/bin/python3 -c 'import torch; print("PyTorch", torch.__version__)') (Debian), Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())')"
  echo
  dotnet test/MLNet.BNInception.Benchmarks.Report/bin/Release/net10.0/MLNet.BNInception.Benchmarks.Report.dll "$results" "$chart"
} | tee "$work/report.md" || report_status=$?

if ((report_status != 0)); then
  echo "bench: the report failed (exit $report_status); the raw lines are kept in $out: rerun the report program on them" >&2
  exit "$report_status"
fi
keep "$work/report.md" "$report"
echo "bench: kept $out and $report (commit them to docs/benchmarks/ with the docs/performance.md section they back)" >&2
