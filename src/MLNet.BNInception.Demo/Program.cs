using MLNet.BNInception.Demo;
using MLNet.BNInception.Programs;

// The README's main job: the Fashion-MNIST walk-through (docs/walkthrough.md) on real ML.NET.
// Its log, ML.NET's confusion table among it, reads alike on every machine: decimals with a point, whatever LANG says.
ProgramCulture.UseInvariant();

// The first Ctrl-C stops it at the next safe point: within one batch of training, leaving a
// checkpoint that --resume continues from, or between the steps before and after training; a
// second ends it at once.
using var interruption = new Interruption("demo", Console.Error);
return DemoCommandLine.Run(args, Console.Out, Console.Error, interruption.Honour());
