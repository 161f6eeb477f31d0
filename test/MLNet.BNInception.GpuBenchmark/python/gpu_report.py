"""The GPU benchmark's table: reads the lines run-on-device.sh collected (one JSON object per
measurement: {"label", "side", "result", "gpu_memory_peak_mib", ...}) and prints, in Markdown,
every measurement's median over its rounds with the GPU memory it took, then the ratios that
issue 22 asks about, each of two figures of the same run. Python rather than the CPU benchmark's
report program (MLNet.BNInception.Benchmarks.Report): the GPU machine has Python, and the .NET
program would have to travel there with ScottPlot's native libraries for a chart nobody needs there.

  gpu_report.py results.jsonl
"""
import json
import statistics
import sys

# (what is compared, numerator label, denominator label, wanted ratio or None for information)
RATIOS = [
    ("training float32, host data: engine vs PyTorch eager",
     "train b256 float32, host data: ours, engine", "train b256 float32, host data: PyTorch eager", 1.0),
    ("training bfloat16, host data: engine (mixed) vs PyTorch eager (autocast)",
     "train b256 bfloat16, host data: ours, engine (mixed)", "train b256 bfloat16, host data: PyTorch eager (autocast)", 1.0),
    ("training float32: ML.NET trainer vs engine, both from host memory",
     "train b256 float32, host data: ours, ML.NET trainer", "train b256 float32, host data: ours, engine", 0.9),
    ("scoring float32 b256, device data: ours vs PyTorch eager",
     "score b256 float32, device data: ours", "score b256 float32, device data: PyTorch eager", 1.0),
    ("scoring bfloat16 b1024, device data: ours vs PyTorch eager",
     "score b1024 bfloat16, device data: ours", "score b1024 bfloat16, device data: PyTorch eager", 1.0),
    ("scoring float32 b256, host data: ours vs PyTorch eager",
     "score b256 float32, host data: ours", "score b256 float32, host data: PyTorch eager", 1.0),
    ("scoring bfloat16 b1024, host data: ours vs PyTorch eager",
     "score b1024 bfloat16, host data: ours", "score b1024 bfloat16, host data: PyTorch eager", 1.0),
    ("training float32, device data: plain TorchSharp loop vs PyTorch eager",
     "train b256 float32, device data: ours, plain TorchSharp loop", "train b256 float32, device data: PyTorch eager", None),
    ("training bfloat16, device data: plain TorchSharp loop (mixed) vs PyTorch eager (autocast)",
     "train b256 bfloat16, device data: ours, plain TorchSharp loop (mixed)", "train b256 bfloat16, device data: PyTorch eager (autocast)", None),
    ("training float32: engine vs plain TorchSharp loop (the engine's own overhead)",
     "train b256 float32, host data: ours, engine", "train b256 float32, device data: ours, plain TorchSharp loop", None),
    ("training float32, host data: engine augmenting vs not",
     "train b256 float32, host data, augmented: ours, engine", "train b256 float32, host data: ours, engine", None),
    ("training bfloat16: engine (mixed, host data) vs PyTorch compiled (autocast, device data)",
     "train b256 bfloat16, host data: ours, engine (mixed)", "train b256 bfloat16, device data: PyTorch compiled (autocast)", None),
    ("scoring bfloat16 b1024, device data: ours vs PyTorch compiled",
     "score b1024 bfloat16, device data: ours", "score b1024 bfloat16, device data: PyTorch compiled", None),
]


def main(path):
    measurements, order = {}, []
    for line in open(path):
        if line.strip():
            record = json.loads(line)
            if record["label"] not in measurements:
                measurements[record["label"]] = []
                order.append(record["label"])
            measurements[record["label"]].append(record)

    def figure(label):
        rates = [r["result"]["images_per_second"] for r in measurements.get(label, []) if "images_per_second" in r["result"]]
        return statistics.median(rates) if rates else None

    print("| measurement | images/s (median of rounds) | rounds | GPU memory, peak above idle (nvidia-smi) | PyTorch max allocated |")
    print("|---|---|---|---|---|")
    for label in order:
        records = measurements[label]
        if records[0].get("side") in ("check", "probe"):  # not measurements: the check's line is below, the probe's in run.log
            continue
        failures = [r["result"].get("error") or r.get("skipped") for r in records if "images_per_second" not in r["result"]]
        rounds = ", ".join("%.0f" % r["result"]["images_per_second"] for r in records if "images_per_second" in r["result"])
        median = figure(label)
        memory = [r["gpu_memory_peak_mib"] for r in records if r.get("gpu_memory_peak_mib") is not None]
        allocated = [r["result"]["max_memory_allocated_bytes"] for r in records if r["result"].get("max_memory_allocated_bytes")]
        print("| %s | %s | %s | %s | %s |" % (
            label,
            "%.0f" % median if median is not None else "– (%s)" % "; ".join(str(f) for f in failures)[:200],
            rounds or "–",
            "%d MiB" % max(memory) if memory else "–",
            "%d MiB" % (max(allocated) / 2**20) if allocated else "–"))

    print()
    print("| comparison | ratio | wanted | met |")
    print("|---|---|---|---|")
    for name, numerator, denominator, wanted in RATIOS:
        n, d = figure(numerator), figure(denominator)
        ratio = n / d if n is not None and d else None
        met = "not measured" if ratio is None else "–" if wanted is None else "yes" if ratio >= wanted else "**no**"
        print("| %s | %s | %s | %s |" % (
            name, "%.2f×" % ratio if ratio is not None else "–", "≥ %.2f×" % wanted if wanted is not None else "(information)", met))

    checks = [r for label in order for r in measurements[label] if r.get("side") == "check"]
    for check in checks:
        result = check["result"]
        print()
        print("Sanity check (%s): %s; largest loss difference %s over %s steps, largest float32 logit difference %s, bfloat16 top-1 agreement %s." % (
            result.get("device_name"), "passed" if result.get("passed") else "**failed**", result.get("max_loss_difference"),
            result.get("steps"), result.get("max_logit_difference_float32"), result.get("top1_agreement_bfloat16")))
        # Recorded, not gating: the augmented steps should agree as closely as the plain ones; mixed
        # precision rounds differently on each device, so only its size is shown.
        print("Augmented steps: largest loss difference %s (%s)%s. Mixed precision: largest loss difference %s%s." % (
            result.get("augmented_max_loss_difference"), "within the tolerance" if result.get("augmented_agrees") else "**not within the tolerance**",
            "; " + result["augmented_error"] if result.get("augmented_error") else "", result.get("mixed_max_loss_difference"),
            "; " + result["mixed_error"] if result.get("mixed_error") else ""))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gpu_report.py results.jsonl")
    main(sys.argv[1])
