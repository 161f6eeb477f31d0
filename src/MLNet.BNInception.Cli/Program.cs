using MLNet.BNInception.Cli.CommandLine;

return BnInceptionCommandLine.Run(args);
