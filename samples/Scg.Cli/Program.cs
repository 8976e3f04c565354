using Scg.Cli;

return ScgApp.Run(args, Console.Out, Console.Error, Ui.DetectInteractive());
