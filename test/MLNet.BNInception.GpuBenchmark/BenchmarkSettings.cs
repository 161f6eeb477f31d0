using System.Globalization;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// What one process measures, from its command line: <c>--name value</c> pairs and the
/// <c>--augment</c> flag. A step is one batch; a run is <see cref="StepsPerRun"/> steps timed
/// together, so that a GPU's queue is only waited for at the end of each run.
/// </summary>
internal sealed record BenchmarkSettings
{
    public static readonly string[] Modes = ["train-engine", "train-loop", "train-mlnet", "score", "check"];

    public string Mode { get; init; } = "train-engine";

    public string Device { get; init; } = "cuda";

    public int Batch { get; init; } = 256;

    public int Side { get; init; } = 224;

    public int Classes { get; init; } = 1000;

    /// <summary>Training: float32 or bfloat16-mixed. Scoring: float32 or bfloat16.</summary>
    public string Precision { get; init; } = "float32";

    /// <summary>
    /// Where the images wait: "host" (CPU memory, copied in by the engine) or "device". Default host,
    /// except for the plain loop, which only trains on data already on the device.
    /// </summary>
    public string Data { get; init; } = "";

    /// <summary>Training with the engine's random resized crop and flip (engine and ML.NET trainer only).</summary>
    public bool Augment { get; init; }

    /// <summary>Steps (scoring: batches, rounded up to whole runs) before the clock starts; at least 1.</summary>
    public int Warmup { get; init; } = 16;

    /// <summary>Timed runs; the result is their median rate.</summary>
    public int Iterations { get; init; } = 3;

    /// <summary>Steps (scoring: batches) per run. Default 16 for training, 4 for scoring.</summary>
    public int StepsPerRun { get; init; }

    /// <summary>Distinct random batches the training steps cycle through (the ML.NET trainer reads them as rows).</summary>
    public int DistinctBatches { get; init; } = 4;

    public bool MixedPrecision => Precision == "bfloat16-mixed";

    /// <summary>Steps from the start to the end of the last run.</summary>
    public long TotalSteps => Warmup + ((long)Iterations * StepsPerRun);

    /// <summary>The settings from <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An option is unknown, lacks its value, or is out of range; the message names it.</exception>
    public static BenchmarkSettings Parse(string[] args)
    {
        var settings = new BenchmarkSettings();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--augment")
            {
                settings = settings with { Augment = true };
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value.");
            }

            string value = args[++i];
            settings = name switch
            {
                "--mode" => settings with { Mode = value },
                "--device" => settings with { Device = value },
                "--batch" => settings with { Batch = Number(name, value) },
                "--side" => settings with { Side = Number(name, value) },
                "--classes" => settings with { Classes = Number(name, value) },
                "--precision" => settings with { Precision = value },
                "--data" => settings with { Data = value },
                "--warmup" => settings with { Warmup = Number(name, value) },
                "--iterations" => settings with { Iterations = Number(name, value) },
                "--steps-per-run" => settings with { StepsPerRun = Number(name, value) },
                "--distinct-batches" => settings with { DistinctBatches = Number(name, value) },
                _ => throw new ArgumentException(
                    $"Unknown option {name}; options: --mode ({string.Join("|", Modes)}), --device, --batch, --side, --classes, --precision, " +
                    "--data (host|device), --augment, --warmup, --iterations, --steps-per-run, --distinct-batches."),
            };
        }

        if (settings.StepsPerRun == 0)
        {
            settings = settings with { StepsPerRun = settings.Mode == "score" ? 4 : 16 };
        }

        if (settings.Data.Length == 0)
        {
            settings = settings with { Data = settings.Mode == "train-loop" ? "device" : "host" };
        }

        settings.Validate();
        return settings;
    }

    /// <summary>The settings as the JSON line gives them, before the results.</summary>
    public Dictionary<string, object?> Describe() => new()
    {
        ["engine"] = "MLNet.BNInception (TorchSharp 0.107)",
        ["mode"] = Mode,
        ["device"] = Device,
        ["data"] = Data,
        ["augment"] = Augment,
        ["precision"] = Precision,
        ["image_side"] = Side,
        ["batch"] = Batch,
        ["classes"] = Classes,
        ["warmup_steps"] = Warmup,
        ["steps_per_run"] = StepsPerRun,
    };

    private void Validate()
    {
        if (!Modes.Contains(Mode))
        {
            throw new ArgumentException($"--mode {Mode}: use one of {string.Join(", ", Modes)}.");
        }

        string[] precisions = Mode == "score" ? ["float32", "bfloat16"] : ["float32", "bfloat16-mixed"];
        if (!precisions.Contains(Precision))
        {
            throw new ArgumentException($"--precision {Precision}: {Mode} takes {string.Join(" or ", precisions)}.");
        }

        if (Data is not ("host" or "device"))
        {
            throw new ArgumentException($"--data {Data}: use host or device.");
        }

        if (Mode == "train-loop" && Data != "device")
        {
            throw new ArgumentException("--data: the plain loop always trains on data already on the device.");
        }

        if (Augment && Mode is not ("train-engine" or "train-mlnet"))
        {
            throw new ArgumentException($"--augment: only train-engine and train-mlnet augment, not {Mode}.");
        }

        if (Batch < 2 || Warmup < 1 || Iterations < 1 || StepsPerRun < 1 || DistinctBatches < 1 || Classes < 2)
        {
            throw new ArgumentException("--batch and --classes must be at least 2; --warmup, --iterations, --steps-per-run and --distinct-batches at least 1.");
        }
    }

    private static int Number(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number)
            ? number
            : throw new ArgumentException($"{name} {value}: a whole number is expected.");
}
