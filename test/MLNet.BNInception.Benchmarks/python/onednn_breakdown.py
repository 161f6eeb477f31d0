"""Where a batch's time goes: the benchmark's inference (or training) step, ours and PyTorch 1.13's,
split into oneDNN's primitives (convolutions, reorders, ...) and everything else, from oneDNN's own
execution log (ONEDNN_VERBOSE=1: one line per primitive run, with its time in ms). Both libtorch
builds call oneDNN for their convolutions, so the split shows whether a difference between the two
lies in the convolution kernels or in the rest (pooling, concatenation, BN, activations, dispatch).

  /usr/bin/python3 test/MLNet.BNInception.Benchmarks/python/onednn_breakdown.py [--rounds 3] [--precision float32|bfloat16]

The sides alternate, each round a process per side; the table gives medians over the rounds of the
per-batch milliseconds of the timed passes (the warm-up passes' lines are left out). The log's
printing adds a little to each side's wall time, the same for both. docs/performance.md records a run.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--mode", default="infer", choices=["infer", "train"])
parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
parser.add_argument("--side", type=int, default=224)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--threads", type=int, default=os.cpu_count())
args = parser.parse_args()

WARMUP, ITERATIONS = 2, 4
common = ["--mode", args.mode, "--side", str(args.side), "--batch", str(args.batch),
          "--warmup", str(WARMUP), "--iterations", str(ITERATIONS)]
ours_precision = {"float32": "float32", "bfloat16": "bfloat16" if args.mode == "infer" else "bfloat16-mixed"}[args.precision]
pytorch_precision = {"float32": "float32", "bfloat16": "bfloat16-autocast"}[args.precision]
sides = {
    "ours (libtorch 2.10, BN folded)": ["dotnet", os.path.join(ROOT, "test/MLNet.BNInception.Benchmarks/bin/Release/net10.0/MLNet.BNInception.Benchmarks.dll"),
                                        *common, "--precision", ours_precision],
    "PyTorch 1.13 channels-last": ["/usr/bin/python3", os.path.join(ROOT, "test/MLNet.BNInception.Benchmarks/python/pytorch_bench.py"),
                                   *common, "--precision", pytorch_precision, "--threads", str(args.threads)],
}
if args.mode == "infer" and args.precision == "float32":
    sides["PyTorch 1.13 channels-last, BN fused"] = [*sides["PyTorch 1.13 channels-last"], "--fuse"]


def measure(command):
    environment = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1", BNINCEPTION_NUM_THREADS=str(args.threads))
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout.splitlines()
    result = json.loads(output[-1])
    executions = []
    version = ""
    for line in output:
        fields = line.split(",")
        if "info" in fields and "oneDNN" in line and not version:
            version = next(f for f in fields if f.startswith("oneDNN"))
        if "exec" in fields and "cpu" in fields:
            at = fields.index("exec")
            executions.append((fields[at + 2], fields[at + 3], fields[-2], float(fields[-1])))
    # The passes are alike, so the timed ones are the last ITERATIONS / (WARMUP + ITERATIONS) of the lines.
    timed = executions[len(executions) * WARMUP // (WARMUP + ITERATIONS):]
    per_primitive, per_problem = collections.Counter(), collections.Counter()
    for primitive, implementation, problem, milliseconds in timed:
        per_primitive[f"{primitive} ({implementation})"] += milliseconds / ITERATIONS
        if primitive == "convolution":
            per_problem[problem] += milliseconds / ITERATIONS
    batch_ms = 1000.0 * args.batch / result["images_per_second"]
    return version, batch_ms, per_primitive, per_problem


rows = collections.defaultdict(lambda: collections.defaultdict(list))
versions = {}
problems = collections.defaultdict(lambda: collections.defaultdict(list))
for round_index in range(args.rounds):
    for name, command in sides.items():
        version, batch_ms, per_primitive, per_problem = measure(command)
        for problem, ms in per_problem.items():
            problems[name][problem].append(ms)
        versions[name] = version
        rows[name]["the whole batch"].append(batch_ms)
        for primitive, ms in per_primitive.items():
            rows[name][primitive].append(ms)
        rows[name]["all oneDNN primitives"].append(sum(per_primitive.values()))
        rows[name]["everything else"].append(batch_ms - sum(per_primitive.values()))

cpu = {}
with open("/proc/cpuinfo") as info:
    for line in info:
        key, _, value = line.partition(":")
        cpu.setdefault(key.strip(), value.strip())
print(f"{cpu.get('model name')} (family {cpu.get('cpu family')}, model {cpu.get('model')}), {args.threads} threads, "
      f"{args.mode} {args.side}x{args.side} batch {args.batch}, {args.precision}, {args.rounds} rounds, medians of ms per batch")
print()
print("| side | oneDNN | part | ms per batch |")
print("|---|---|---|---|")
for name, parts in rows.items():
    for part, values in sorted(parts.items(), key=lambda item: -statistics.median(item[1])):
        print(f"| {name} | {versions[name]} | {part} | {statistics.median(values):.1f} |")

# The convolution shapes (summed over the layers of each shape) whose time differs most between the
# first two sides.
first, second = list(sides)[:2]
difference = {problem: statistics.median(problems[first][problem]) - statistics.median(problems[second].get(problem, [0.0]))
              for problem in problems[first]}
print()
print(f"| convolution (oneDNN's problem) | {first} | {second} |")
print("|---|---|---|")
for problem in sorted(difference, key=lambda p: -abs(difference[p]))[:12]:
    print(f"| {problem} | {statistics.median(problems[first][problem]):.2f} | {statistics.median(problems[second].get(problem, [0.0])):.2f} |")
