using Scg.Cli;

using var stop = StopSignal.Catch();
return ScgApp.Run(args, Console.Out, Console.Error, Ui.IsTerminal(stderr: false), Ui.IsTerminal(stderr: true), stop);
