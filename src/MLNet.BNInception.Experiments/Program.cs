using MLNet.BNInception.Programs;
using MLNet.BNInception.Experiments;

// The paper's experiments at this machine's scale; docs/experiments.md shows and discusses a run.
//   figure1 [--steps 50000] [--every 500] [--lr 0.5] [--init-std 0.01] [--seed 1] [--out experiments/figure1]
//   figure3 [--epochs 10] [--train-images 12288] [--seed 1] [--precision mixed|float32] [--out experiments/figure3]
// The log and the plots' tick labels read alike on every machine: decimals with a point, whatever LANG says.
ProgramCulture.UseInvariant();

// The first Ctrl-C stops a run within a batch, keeping what finished; a second ends it at once.
using var interruption = new Interruption("experiments", Console.Error);
return ExperimentsCommandLine.Run(args, Console.Out, Console.Error, interruption.Honour());
