using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNet.BNInception.Programs;
using ScottPlot;

// Reads the lines bench.sh collected ({"label": …, "result": {…}} per measurement), and writes
// docs/performance.md's table of medians (Markdown, to standard output) and a bar chart of the
// targets' ratios (PNG). Every ratio is of two figures of the same run.
//   Report results.jsonl chart.png

// The chart's tick labels are ScottPlot's, in the current culture: decimals with a point, whatever LANG says.
ProgramCulture.UseInvariant();
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: MLNet.BNInception.Benchmarks.Report results.jsonl chart.png");
    return 2;
}

var measurements = new Dictionary<string, List<JsonElement>>();
var order = new List<string>();
foreach (string line in File.ReadLines(args[0]).Where(l => l.Trim().Length > 0))
{
    using JsonDocument document = JsonDocument.Parse(line);
    string label = document.RootElement.GetProperty("label").GetString()!;
    if (!measurements.TryGetValue(label, out List<JsonElement>? list))
    {
        measurements[label] = list = [];
        order.Add(label);
    }

    list.Add(document.RootElement.GetProperty("result").Clone());
}

double Median(IEnumerable<double> values)
{
    double[] sorted = values.OrderBy(v => v).ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

double? Figure(string label, string property = "images_per_second") =>
    measurements.TryGetValue(label, out List<JsonElement>? results) && results.All(r => r.TryGetProperty(property, out JsonElement v) && v.ValueKind == JsonValueKind.Number)
        ? Median(results.Select(r => r.GetProperty(property).GetDouble()))
        : null;

string Format(double value, string format = "F1") => value.ToString(format, CultureInfo.InvariantCulture);

// A ratio with two decimals, or three where two would show a missed target as equal to it (1.048 against 1.05).
string Shown(double ratio, double target) => Format(ratio, Format(ratio, "F2") == Format(target, "F2") ? "F3" : "F2") + "×";

// The table: every measurement, its median and its rounds.
var table = new StringBuilder();
table.AppendLine("| measurement | images/s (median) | rounds | peak resident memory |");
table.AppendLine("|---|---|---|---|");
foreach (string label in order)
{
    List<JsonElement> results = measurements[label];
    if (!results[0].TryGetProperty("images_per_second", out _))
    {
        continue;
    }

    string rounds = string.Join(", ", results.Select(r => Format(r.GetProperty("images_per_second").GetDouble())));
    double? peak = Figure(label, "peak_resident_bytes");
    table.AppendLine($"| {label} | {Format(Figure(label)!.Value)} | {rounds} | {(peak is null ? "–" : Format(peak.Value / (1 << 20), "F0") + " MiB")} |");
}

// The targets (issues 12 and 14), each a ratio of two figures of this run.
var targets = new List<Target>
{
    new("training 224, float32 vs PyTorch channels-last", "train 224x224 b32: ours, float32", "train 224x224 b32: PyTorch channels-last, float32", 1.05),
    new("training 96, float32 vs PyTorch channels-last", "train 96x96 b64: ours, float32", "train 96x96 b64: PyTorch channels-last, float32", 1.05),
    new("training 224, mixed vs PyTorch channels-last float32", "train 224x224 b32: ours, bfloat16 mixed", "train 224x224 b32: PyTorch channels-last, float32", 1.8),
    new("training 224, mixed vs PyTorch autocast bfloat16", "train 224x224 b32: ours, bfloat16 mixed", "train 224x224 b32: PyTorch channels-last, autocast bfloat16", 1.0),
    new("training 224, peak memory vs PyTorch (lower is better)", "train 224x224 b32: ours, float32", "train 224x224 b32: PyTorch channels-last, float32", 1.1, AtMost: true, Property: "peak_resident_bytes"),
    new("inference 224, float32 vs PyTorch channels-last", "infer 224x224 b32: ours, float32", "infer 224x224 b32: PyTorch channels-last, float32", 1.2),
    new("inference 224, float32 vs ONNX Runtime", "infer 224x224 b32: ours, float32", "infer 224x224 b32: ONNX Runtime, float32", 1.0),
    new("inference 224, bfloat16 vs PyTorch channels-last float32", "infer 224x224 b32: ours, bfloat16", "infer 224x224 b32: PyTorch channels-last, float32", 1.8),
    new("batch 1, float32 vs ONNX Runtime", "infer 224x224 b1: ours, float32", "infer 224x224 b1: ONNX Runtime, float32", 1.0),
    new("decoding + resizing + extraction vs the network's float32 inference", Decode(), "infer 224x224 b32: ours, float32", 3.0),
    new("ML.NET trainer fed from JPEG files vs the engine from memory", "pipeline 224x224 b32: ML.NET trainer from JPEG files", "train 224x224 b32: ours, float32", 0.9),
    new("ML.NET trainer, list cached (read in any order) vs read from its file", "pipeline 224x224 b32: ML.NET trainer from JPEG files, list cached",
        "pipeline 224x224 b32: ML.NET trainer from JPEG files", 0.9),
    new("ML.NET trainer, list cached, 10% held out (rows fetched by id) vs read from its file", "pipeline 224x224 b32: ML.NET trainer from JPEG files, list cached, 10% held out",
        "pipeline 224x224 b32: ML.NET trainer from JPEG files", 0.9),
    new("ML.NET trainer, 10% held out (the pool's order from the ids) vs the whole list read from its file", "pipeline 224x224 b32: ML.NET trainer from JPEG files, 10% held out",
        "pipeline 224x224 b32: ML.NET trainer from JPEG files", 0.9),
    new("bninception score job vs its network alone (ONNX Runtime, batch 64)", "score job 224x224 b64: bninception score, 2,000 JPEG files", "infer 224x224 b64: ONNX Runtime, float32", 0.9),
};

double? Ratio(Target target) =>
    Figure(target.Numerator, target.Property) is double n && Figure(target.Denominator, target.Property) is double d && d > 0 ? n / d : null;

// A ratio is of like with like only where both rows ran the same protocol. Without AVX-512 bench.sh
// runs PyTorch's autocast rows once, 1 timed step and no warm-up (one would take up to 10 minutes
// in rounds), against our warm-up, 5 timed steps and 3 rounds: such a ratio is shown, but neither
// met nor missed. Rows whose lines give no step counts (decoding, the trainer from files, the score
// job) are measurements of their own kind, compared as they are.
string? NotComparable(Target target)
{
    string? numerator = Protocol(target.Numerator), denominator = Protocol(target.Denominator);
    return numerator is null || denominator is null || numerator == denominator ? null : $"not comparable: {numerator} against {denominator}";
}

string? Protocol(string label)
{
    if (!measurements.TryGetValue(label, out List<JsonElement>? results) ||
        !results.All(r => r.TryGetProperty("warmup_steps", out _) && r.TryGetProperty("timed_steps", out _)))
    {
        return null;
    }

    static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";
    string Steps(JsonElement r) => $"{r.GetProperty("warmup_steps").GetInt32()} warm-up + {Count(r.GetProperty("timed_steps").GetInt32(), "timed step")}";
    return $"{Count(results.Count, "round")} of {string.Join(" or ", results.Select(Steps).Distinct())}";
}

// bench.sh names the decode row after the thread count it ran with ("…, 2 threads"), whatever that was.
string Decode() => order.FirstOrDefault(label => label.StartsWith("decode 224x224: ML.NET image transforms", StringComparison.Ordinal)) ?? "decode 224x224";

var summary = new StringBuilder();
summary.AppendLine("| target | ratio | wanted | met |");
summary.AppendLine("|---|---|---|---|");
foreach (Target target in targets)
{
    double? ratio = Ratio(target);
    string met = ratio is null ? "not measured" : NotComparable(target) ?? (target.Met(ratio.Value) ? "yes" : "**no**");
    summary.AppendLine($"| {target.Name} | {(ratio is null ? "–" : Shown(ratio.Value, target.Wanted))} | {(target.AtMost ? "≤ " : "≥ ")}{Format(target.Wanted, "F2")}× | {met} |");
}

if (measurements.TryGetValue("agreement", out List<JsonElement>? agreement))
{
    JsonElement a = agreement[^1];
    summary.AppendLine();
    summary.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"bfloat16 against float32 scoring on Fashion-MNIST's 10,000 test images (64×64 model of the learning check): top-1 agreement " +
        $"{a.GetProperty("agreement").GetDouble():P2} (wanted ≥ 99%); accuracy {a.GetProperty("float32_accuracy").GetDouble():P2} float32, " +
        $"{a.GetProperty("bfloat16_accuracy").GetDouble():P2} bfloat16."));
}

Console.Write(table.ToString());
Console.WriteLine();
Console.Write(summary.ToString());

// The chart: one horizontal bar per target, green where met, red where not, grey where the two rows
// ran different protocols, with the target marked.
var measured = targets.Select(t => (Target: t, Ratio: Ratio(t))).Where(t => t.Ratio is not null).Reverse().ToArray();
var plot = new Plot();
var bars = new List<Bar>();
for (int i = 0; i < measured.Length; i++)
{
    (Target target, double? ratio) = measured[i];
    bars.Add(new Bar
    {
        Position = i,
        Value = ratio!.Value,
        FillColor = NotComparable(target) is not null ? Colors.Gray : target.Met(ratio.Value) ? Colors.SeaGreen : Colors.IndianRed,
        Label = Shown(ratio.Value, target.Wanted),
        Orientation = Orientation.Horizontal,
    });
    var marker = plot.Add.Marker(target.Wanted, i, MarkerShape.VerticalBar, 18, Colors.Black);
    marker.LineWidth = 2;
}

var barPlot = plot.Add.Bars(bars);
barPlot.Horizontal = true;
barPlot.ValueLabelStyle.FontSize = 12;
plot.Add.VerticalLine(1, 1, Colors.Gray, LinePattern.Dashed);
plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
    Enumerable.Range(0, measured.Length).Select(i => (double)i).ToArray(), measured.Select(t => t.Target.Name).ToArray());
plot.Axes.Bottom.Label.Text = "ours / the other (black mark: target; memory: lower is better; grey: not comparable)";
// A grey bar (a single step against rounds) may be far off the scale: it does not set the axis.
plot.Axes.SetLimitsX(0, Math.Max(2.5, measured.Where(t => NotComparable(t.Target) is null)
    .Select(t => Math.Max(t.Ratio!.Value, t.Target.Wanted)).DefaultIfEmpty(0).Max() * 1.15));
plot.Title("MLNet.BNInception against the alternatives, same machine, same run");
plot.Axes.Left.TickLabelStyle.FontSize = 12;
plot.SavePng(args[1], 1200, 80 + (measured.Length * 44));
return 0;

/// <summary>A target of issues 12 and 14: the ratio of two rows' figures (<paramref name="Property"/>), wanted at least (or, for memory, at most) <paramref name="Wanted"/>.</summary>
internal sealed record Target(string Name, string Numerator, string Denominator, double Wanted, bool AtMost = false, string Property = "images_per_second")
{
    public bool Met(double ratio) => AtMost ? ratio <= Wanted : ratio >= Wanted;
}
