"""The GPU benchmark's table: reads the lines run-on-device.sh collected (one JSON object per
measurement: {"label", "side", "round", "phase", "result", "gpu_memory_peak_mib", ...}) and prints,
in Markdown, every measurement's median over its rounds with the GPU memory it took, then the
ratios that issue 22 asks about, each of two figures of the same run, then the time each
measurement was estimated at and took. Python rather than the CPU benchmark's report program
(MLNet.BNInception.Benchmarks.Report): the GPU machine has Python, and the .NET program would have
to travel there with ScottPlot's native libraries for a chart nobody needs there.

A ratio of two wanted measurements takes each side's median over the rounds in which both sides
gave a figure, so that both medians are of equal numbers of rounds (the "rounds" column); a ratio
with a measurement run once, outside the rounds (the information), takes every figure of each
side and says how many each had. Against PyTorch's scoring, a ratio takes the better of its eager
rows as they are and with BN folded (ours folds BN), and names which. A training ratio between
two lines whose optimizer settings differ is not comparable, and says so.

  gpu_report.py results.jsonl
"""
import json
import statistics
import sys

# (what is compared, numerator label, denominator label or labels (the best of them), wanted ratio
# or None for information). Labels as run-on-device.sh writes them.
EAGER_SCORING = ("PyTorch eager", "PyTorch eager, BN fused")
RATIOS = [
    ("training float32 b64, host data: engine vs PyTorch eager",
     "train b64 float32, host data: ours, engine", "train b64 float32, host data: PyTorch eager", 1.0),
    ("training float32 b64, device data: engine vs PyTorch eager",
     "train b64 float32, device data: ours, engine", "train b64 float32, device data: PyTorch eager", 1.0),
    ("training float32 b256, host data: engine vs PyTorch eager",
     "train b256 float32, host data: ours, engine", "train b256 float32, host data: PyTorch eager", 1.0),
    ("training float32 b256, device data: engine vs PyTorch eager",
     "train b256 float32, device data: ours, engine", "train b256 float32, device data: PyTorch eager", 1.0),
    ("training bfloat16 b256, host data: engine (mixed) vs PyTorch eager (autocast)",
     "train b256 bfloat16, host data: ours, engine (mixed)", "train b256 bfloat16, host data: PyTorch eager (autocast)", 1.0),
    ("training bfloat16 b256, device data: engine (mixed) vs PyTorch eager (autocast)",
     "train b256 bfloat16, device data: ours, engine (mixed)", "train b256 bfloat16, device data: PyTorch eager (autocast)", 1.0),
    ("training float32 b256: ML.NET trainer vs engine, both from host memory",
     "train b256 float32, host data: ours, ML.NET trainer", "train b256 float32, host data: ours, engine", 0.9),
    ("scoring float32 b256, device data: ours vs PyTorch eager",
     "score b256 float32, device data: ours", ["score b256 float32, device data: " + s for s in EAGER_SCORING], 1.0),
    ("scoring bfloat16 b1024, device data: ours vs PyTorch eager",
     "score b1024 bfloat16, device data: ours", ["score b1024 bfloat16, device data: " + s for s in EAGER_SCORING], 1.0),
    ("scoring float32 b256, host data: ours vs PyTorch eager",
     "score b256 float32, host data: ours", ["score b256 float32, host data: " + s for s in EAGER_SCORING], 1.0),
    ("scoring bfloat16 b1024, host data: ours vs PyTorch eager",
     "score b1024 bfloat16, host data: ours", ["score b1024 bfloat16, host data: " + s for s in EAGER_SCORING], 1.0),
    ("scoring, device data: ours bfloat16 b1024 vs ours float32 b256",
     "score b1024 bfloat16, device data: ours", "score b256 float32, device data: ours", 1.5),
    ("training b256, host data: engine mixed vs engine float32",
     "train b256 bfloat16, host data: ours, engine (mixed)", "train b256 float32, host data: ours, engine", None),
    ("training float32 b256, device data: plain TorchSharp loop vs PyTorch eager",
     "train b256 float32, device data: ours, plain TorchSharp loop", "train b256 float32, device data: PyTorch eager", None),
    ("training bfloat16 b256, device data: plain TorchSharp loop (mixed) vs PyTorch eager (autocast)",
     "train b256 bfloat16, device data: ours, plain TorchSharp loop (mixed)", "train b256 bfloat16, device data: PyTorch eager (autocast)", None),
    ("training float32 b256, device data: engine vs plain TorchSharp loop (the engine's own overhead)",
     "train b256 float32, device data: ours, engine", "train b256 float32, device data: ours, plain TorchSharp loop", None),
    ("training float32 b256, host data: engine augmenting vs not",
     "train b256 float32, host data, augmented: ours, engine", "train b256 float32, host data: ours, engine", None),
    ("training float32 b256, device data: engine vs PyTorch compiled",
     "train b256 float32, device data: ours, engine", "train b256 float32, device data: PyTorch compiled", None),
    ("training bfloat16 b256, device data: engine (mixed) vs PyTorch compiled (autocast)",
     "train b256 bfloat16, device data: ours, engine (mixed)", "train b256 bfloat16, device data: PyTorch compiled (autocast)", None),
    ("training bfloat16 b256, host data: engine (mixed) vs PyTorch compiled (autocast)",
     "train b256 bfloat16, host data: ours, engine (mixed)", "train b256 bfloat16, host data: PyTorch compiled (autocast)", None),
    ("scoring float32 b256, device data: ours vs PyTorch compiled, BN fused",
     "score b256 float32, device data: ours", "score b256 float32, device data: PyTorch compiled, BN fused", None),
    ("scoring bfloat16 b1024, device data: ours vs PyTorch compiled, BN fused",
     "score b1024 bfloat16, device data: ours", "score b1024 bfloat16, device data: PyTorch compiled, BN fused", None),
]


def load(path):
    measurements, order = {}, []
    for line in open(path):
        if line.strip():
            record = json.loads(line)
            if record["label"] not in measurements:
                measurements[record["label"]] = []
                order.append(record["label"])
            measurements[record["label"]].append(record)
    return measurements, order


def rates_by_round(records):
    """{round: rate} of the wanted rounds that gave a figure, and the figures of the other runs."""
    rounds, others = {}, []
    for record in records:
        rate = record["result"].get("images_per_second")
        if rate is None:
            continue
        if record.get("phase") == "wanted":
            rounds[record.get("round")] = rate
        else:
            others.append(rate)
    return rounds, others


def paired(measurements, numerator, denominator):
    """The two medians over the rounds both sides ran, or over all of each side's figures where
    either was measured outside the rounds; with how many figures each median is of."""
    n_rounds, n_others = rates_by_round(measurements.get(numerator, []))
    d_rounds, d_others = rates_by_round(measurements.get(denominator, []))
    if n_others or d_others:
        n, d = list(n_rounds.values()) + n_others, list(d_rounds.values()) + d_others
    else:
        common = sorted(set(n_rounds) & set(d_rounds))
        n, d = [n_rounds[r] for r in common], [d_rounds[r] for r in common]
    if not n or not d:
        return None
    return statistics.median(n), statistics.median(d), len(n), len(d)


def optimizer_difference(measurements, numerator, denominator):
    """Where both lines give their optimizer settings and they differ: what differs."""
    def settings(label):
        for record in measurements.get(label, []):
            optimizer = record["result"].get("optimizer")
            if isinstance(optimizer, dict):
                return {k: v for k, v in optimizer.items() if k != "implementation"}
        return None

    a, b = settings(numerator), settings(denominator)
    if a is None or b is None or a == b:
        return None
    return ", ".join("%s %s against %s" % (k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def ratio_row(measurements, name, numerator, denominators, wanted):
    candidates = denominators if isinstance(denominators, list) else [denominators]
    best = None
    for denominator in candidates:
        figures = paired(measurements, numerator, denominator)
        if figures is not None and (best is None or figures[1] > best[1][1]):
            best = (denominator, figures)
    if best is None:
        shown, rounds, met = "–", "–", "not measured"
    else:
        denominator, (n, d, n_count, d_count) = best
        ratio = n / d
        if len(candidates) > 1:
            name += " (the better of unfused and BN fused: %s)" % ("BN fused" if denominator.endswith("BN fused") else "unfused")
        # Three decimals where two would show a missed target as met (0.996 as 1.00), as the CPU report does.
        shown = ("%.3f×" if wanted is not None and "%.2f" % ratio == "%.2f" % wanted else "%.2f×") % ratio
        rounds = "%d / %d" % (n_count, d_count)
        difference = optimizer_difference(measurements, numerator, denominator)
        if difference:
            met = "not comparable: optimizer %s" % difference
        else:
            met = "–" if wanted is None else "yes" if ratio >= wanted else "**no**"
    return "| %s | %s | %s | %s | %s |" % (name, shown, rounds, "≥ %.2f×" % wanted if wanted is not None else "(information)", met)


def main(path):
    measurements, order = load(path)
    print("| measurement | images/s (median of rounds) | rounds | GPU memory, peak above idle (nvidia-smi) | PyTorch max allocated |")
    print("|---|---|---|---|---|")
    for label in order:
        records = measurements[label]
        if records[0].get("side") in ("check", "probe"):  # not measurements: the check's line is below, the probe's in run.log
            continue
        rates = [r["result"]["images_per_second"] for r in records if "images_per_second" in r["result"]]
        failures = [r["result"].get("error") or r.get("skipped") for r in records if "images_per_second" not in r["result"]]
        memory = [r["gpu_memory_peak_mib"] for r in records if r.get("gpu_memory_peak_mib") is not None]
        allocated = [r["result"]["max_memory_allocated_bytes"] for r in records if r["result"].get("max_memory_allocated_bytes")]
        print("| %s | %s | %s | %s | %s |" % (
            label,
            "%.0f" % statistics.median(rates) if rates else "– (%s)" % "; ".join(str(f) for f in failures)[:200],
            ", ".join("%.0f" % rate for rate in rates) or "–",
            "%d MiB" % max(memory) if memory else "–",
            "%d MiB" % (max(allocated) / 2**20) if allocated else "–"))

    print()
    print("| comparison | ratio | rounds (each side) | wanted | met |")
    print("|---|---|---|---|---|")
    for name, numerator, denominators, wanted in RATIOS:
        print(ratio_row(measurements, name, numerator, denominators, wanted))

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

    # What each measurement was planned at and took, for the estimates written in run-on-device.sh.
    print()
    print("Time, estimated / taken (s): " + "; ".join(
        "%s: %s" % (label, ", ".join("%s/%s" % (r.get("estimate_seconds", "?"), r.get("wall_seconds", "skipped")) for r in measurements[label]))
        for label in order) + ".")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gpu_report.py results.jsonl")
    main(sys.argv[1])
