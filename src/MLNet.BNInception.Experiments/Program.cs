using System.Globalization;
using MLNet.BNInception;
using MLNet.BNInception.Experiments.Figure1;

// The paper's experiments at this machine's scale; docs/experiments.md shows and discusses a run.
//   figure1 [--steps 50000] [--every 500] [--lr 0.5] [--init-std 0.01] [--seed 1] [--out experiments/figure1]

if (args.Length == 0 || args[0] is not "figure1")
{
    Console.Error.WriteLine("usage: MLNet.BNInception.Experiments figure1 [--steps N] [--every N] [--lr X] [--init-std X] [--seed N] [--out FOLDER]");
    return 2;
}

var options = new Dictionary<string, string>();
for (int i = 1; i < args.Length; i += 2)
{
    if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
    {
        Console.Error.WriteLine($"figure1: '{args[i]}' is not --option value");
        return 2;
    }

    options[args[i][2..]] = args[i + 1];
}

string[] known = ["steps", "every", "lr", "init-std", "seed", "out"];
if (options.Keys.FirstOrDefault(key => !known.Contains(key)) is { } unknown)
{
    Console.Error.WriteLine($"figure1: unknown option --{unknown}; options: {string.Join(", ", known.Select(k => "--" + k))}");
    return 2;
}

TorchRuntime.EnsureLoaded();
var defaults = new Figure1Settings();
var settings = new Figure1Settings
{
    Steps = Get("steps", defaults.Steps),
    Every = Get("every", defaults.Every),
    LearningRate = Get("lr", defaults.LearningRate),
    InitStd = Get("init-std", defaults.InitStd),
    Seed = Get("seed", defaults.Seed),
};
string output = options.GetValueOrDefault("out", Path.Combine("experiments", "figure1"));
Console.WriteLine($"Figure 1 on Fashion-MNIST: {settings}; writing to {Path.GetFullPath(output)}");
Figure1Experiment.Run(settings, output, Console.Out);
return 0;

T Get<T>(string name, T fallback) where T : IParsable<T> =>
    options.TryGetValue(name, out string? text) ? T.Parse(text, CultureInfo.InvariantCulture) : fallback;
