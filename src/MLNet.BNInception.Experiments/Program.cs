using System.Globalization;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure1;
using MLNet.BNInception.Experiments.Figure3;

// The paper's experiments at this machine's scale; docs/experiments.md shows and discusses a run.
//   figure1 [--steps 50000] [--every 500] [--lr 0.5] [--init-std 0.01] [--seed 1] [--out experiments/figure1]
//   figure3 [--epochs 10] [--train-images 12288] [--seed 1] [--precision mixed|float32] [--out experiments/figure3]

if (args.Length == 0 || args[0] is not ("figure1" or "figure3"))
{
    Console.Error.WriteLine("usage: MLNet.BNInception.Experiments figure1 [--steps N] [--every N] [--lr X] [--init-std X] [--seed N] [--out FOLDER]");
    Console.Error.WriteLine("       MLNet.BNInception.Experiments figure3 [--epochs N] [--train-images N] [--seed N] [--precision mixed|float32] [--out FOLDER]");
    return 2;
}

string experiment = args[0];

var options = new Dictionary<string, string>();
for (int i = 1; i < args.Length; i += 2)
{
    if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
    {
        Console.Error.WriteLine($"{experiment}: '{args[i]}' is not --option value");
        return 2;
    }

    options[args[i][2..]] = args[i + 1];
}

string[] known = experiment == "figure1" ? ["steps", "every", "lr", "init-std", "seed", "out"] : ["epochs", "train-images", "seed", "precision", "out"];
if (options.Keys.FirstOrDefault(key => !known.Contains(key)) is { } unknown)
{
    Console.Error.WriteLine($"{experiment}: unknown option --{unknown}; options: {string.Join(", ", known.Select(k => "--" + k))}");
    return 2;
}

TorchRuntime.EnsureLoaded();
string output = options.GetValueOrDefault("out", Path.Combine("experiments", experiment));
if (experiment == "figure1")
{
    var defaults = new Figure1Settings();
    var settings = new Figure1Settings
    {
        Steps = Get("steps", defaults.Steps),
        Every = Get("every", defaults.Every),
        LearningRate = Get("lr", defaults.LearningRate),
        InitStd = Get("init-std", defaults.InitStd),
        Seed = Get("seed", defaults.Seed),
    };
    Console.WriteLine($"Figure 1 on Fashion-MNIST: {settings}; writing to {Path.GetFullPath(output)}");
    Figure1Experiment.Run(settings, output, Console.Out);
}
else
{
    var defaults = new Figure3Settings();
    string precision = options.GetValueOrDefault("precision", "mixed");
    if (precision is not ("mixed" or "float32"))
    {
        Console.Error.WriteLine($"figure3: --precision {precision}: use mixed or float32");
        return 2;
    }

    var settings = new Figure3Settings
    {
        Epochs = Get("epochs", defaults.Epochs),
        TrainImages = Get("train-images", defaults.TrainImages),
        Seed = Get("seed", defaults.Seed),
        Mixed = precision == "mixed",
    };
    Console.WriteLine($"Figure 3 in miniature: {settings}; writing to {Path.GetFullPath(output)}");
    (_, IReadOnlyList<Figure3Summary> summary) = Figure3Experiment.Run(settings, output, Console.Out);
    foreach (Figure3Summary row in summary)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{row.Configuration}: steps to Inception's best {row.StepsText}, best {row.BestAccuracy:P2} ({row.Note})"));
    }
}

return 0;

T Get<T>(string name, T fallback) where T : IParsable<T> =>
    options.TryGetValue(name, out string? text) ? T.Parse(text, CultureInfo.InvariantCulture) : fallback;
