#!/usr/bin/env bash
# The benchmark (never part of the test suite): BN-Inception's training and inference throughput in
# this engine and in Debian's PyTorch 1.13, on identical work, in one run. Every measurement is a
# process of its own (warm-up steps first, then timed steps, median kept); the sides alternate, and
# the whole round repeats REPEATS times (default 3); the table gives the median of the rounds and
# each row's ratio to PyTorch's channels-last float32 rate. Both sides use the same thread count
# (BNINCEPTION_NUM_THREADS, default: the number of cores). docs/performance.md records a run.
#   bash build/bench.sh [--side 224] [--batch 32] [--repeats 3] [--out results.jsonl]
set -euo pipefail
cd "$(dirname "$0")/.."

side=224 batch=32 repeats=3 out=""
while (($#)); do
  case "$1" in
    --side) side=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

bash build/setup.sh --with-test-deps >/dev/null
threads=${BNINCEPTION_NUM_THREADS:-$(nproc)}
export BNINCEPTION_NUM_THREADS=$threads
ours=(dotnet test/MLNet.BNInception.Benchmarks/bin/Release/net10.0/MLNet.BNInception.Benchmarks.dll --side "$side" --batch "$batch")
pytorch=(/usr/bin/python3 test/MLNet.BNInception.Benchmarks/python/pytorch_bench.py --side "$side" --batch "$batch" --threads "$threads")
results=${out:-$(mktemp)}
: > "$results"

configurations=(
  "ours|--mode train --layout channels-last"
  "pytorch|--mode train --layout channels-last"
  "ours|--mode train --layout contiguous"
  "pytorch|--mode train --layout contiguous"
  "ours|--mode infer --layout channels-last"
  "pytorch|--mode infer --layout channels-last"
  "ours|--mode infer --layout contiguous"
  "pytorch|--mode infer --layout contiguous"
  "pytorch|--mode infer --layout channels-last --fuse"
  "ours|--mode infer --layout channels-last --precision bfloat16"
  "ours|--mode infer-onnxruntime --layout contiguous"
)
for ((round = 1; round <= repeats; round++)); do
  for configuration in "${configurations[@]}"; do
    who=${configuration%%|*}
    read -r -a options <<<"${configuration#*|}"
    if [[ $who == ours ]]; then command=("${ours[@]}"); else command=("${pytorch[@]}"); fi
    line=$("${command[@]}" "${options[@]}" | tail -n 1)
    echo "round $round: $line" >&2
    echo "$line" >>"$results"
  done
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["engine"], r["mode"], r["layout"], r["precision"], r.get("fused", False))
    rows.setdefault(key, []).append(r["images_per_second"])
base = {k[1]: statistics.median(v) for k, v in rows.items() if k[0].startswith("PyTorch") and k[2] == "channels-last" and not k[4]}
first = json.loads(open(sys.argv[1]).readline())
print(f"BN-Inception, {first['image_side']}x{first['image_side']}, batch {first['batch']}, {first['threads']} threads; images/s, median of {len(next(iter(rows.values())))} rounds")
print("| engine | mode | layout | precision | images/s | rounds | vs PyTorch channels-last |")
print("|---|---|---|---|---|---|---|")
for (engine, mode, layout, precision, fused), rates in rows.items():
    median = statistics.median(rates)
    what = "eval, BN folded" if mode.startswith("infer") and (fused or not engine.startswith("PyTorch")) else ("eval" if mode == "infer" else "train step")
    spread = ", ".join(f"{x:.1f}" for x in rates)
    print(f"| {engine} | {mode} ({what}) | {layout} | {precision} | {median:.1f} | {spread} | {median / base[mode.split("-")[0]]:.2f}x |")
PY
