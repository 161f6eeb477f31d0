using MLNet.BNInception.Cli.CommandLine;

int exitCode = BnInceptionCommandLine.Run(args);
// Read at process exit: under mpirun a rank that fails ends the whole job with its code (MpiWorld).
Environment.ExitCode = exitCode;
return exitCode;
