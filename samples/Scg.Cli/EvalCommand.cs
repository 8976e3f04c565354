using System.CommandLine;
using System.Globalization;
using Scg.Models.Data;
using Scg.Models.Sbn;

namespace Scg.Cli;

static class EvalCommand
{
    public static Command Create(Ui ui)
    {
        var checkpointArg = new Argument<string>("checkpoint") { Description = "A checkpoint.scg, or the run folder holding one" };
        var split = new Option<string>("--split") { Description = "Data split: train, valid or test", DefaultValueFactory = _ => "test" };
        var samples = new Option<int>("--samples", "-k") { Description = "k: importance samples per data point in L_k (1 to 50000; drawn in batches that fit in memory)", DefaultValueFactory = _ => 1000 };
        var rows = new Option<int>("--rows") { Description = "Evaluate only the first N rows of the split (0 = all)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the evaluation samples", DefaultValueFactory = _ => 1UL };
        var dataDir = TrainOptions.DataDirOption();
        var command = new Command("eval", "Evaluate a checkpoint: L_k on the discrete graph over a data split (a lower bound on log p(x); -L_k estimates the NLL), " +
            "with the settings the model was trained with. The table goes to stdout and progress to stderr, so `scg eval run > result.md` holds the result alone.");
        command.Arguments.Add(checkpointArg);
        foreach (Option o in (Option[])[split, samples, rows, seed, dataDir]) command.Options.Add(o);
        command.SetAction(p => ScgApp.Guard(ui, "scg eval", () =>
        {
            string path = p.GetValue(checkpointArg)!;
            if (Directory.Exists(path)) path = Path.Combine(path, Experiment.CheckpointFile);
            string splitName = p.GetValue(split)!;
            if (splitName is not ("train" or "valid" or "test")) throw new UsageException($"--split must be train, valid or test, got '{splitName}'.");
            int k = p.GetValue(samples), limit = p.GetValue(rows);
            TrainOptions.ValidateEvalSamples("--samples", k);
            if (limit < 0) throw new UsageException($"--rows must be ≥ 0 (0 = all), got {limit}.");
            var checkpoint = TrainCommand.ReadCheckpoint(path);
            var h = checkpoint.Header;
            // valid and test hold the fixed bits under fixed and dynamic binarization, thresholded bits under threshold
            var data = TrainOptions.LoadData(h.Data, h.Binarization == Binarization.Threshold ? Binarization.Threshold : Binarization.Fixed, p.GetValue(dataDir));
            var spec = TrainOptions.ParseSpec(h.Spec);
            TrainOptions.ValidateSpecFitsData(spec, data);
            SigmoidBeliefNet model;
            try { model = checkpoint.CreateModel(); }
            catch (InvalidDataException e) { throw new UsageException(e.Message); }
            var set = splitName switch { "train" => data.Train, "valid" => data.Valid, _ => data.Test };
            int n = limit > 0 ? Math.Min(limit, set.Rows) : set.Rows;

            ui.Note($"eval: {path}: {h.Spec} on {h.DataDescription}, trained with {h.Estimator} (m = {h.Samples}) for {h.Step} steps.");
            double bound = Experiment.Bound(ui, $"{splitName} L_{k}", model, set, k, Seeds.For(p.GetValue(seed), Seeds.Test), h.Step, Resources.EvaluationRows(model, data), n);
            var table = new TextTable(["split", "rows", "k", $"L_{k}", "NLL estimate (-L_k)", "model NLL (exact)", "true NLL"]);
            string exact = Experiment.IsEnumerable(model) && n == set.Rows ? Experiment.Num(-Evaluation.ExactLogLikelihood(model, set.Values, set.Features), "F3") : "—";
            string truth = h.Data == ToySbn.Name && !spec.IsConditional && n == set.Rows ? Experiment.Num(ToySbn.TrueNll(set), "F3") : "—";
            table.Add(splitName, n.ToString(CultureInfo.InvariantCulture), k.ToString(CultureInfo.InvariantCulture), Experiment.Num(bound, "F3"), Experiment.Num(-bound, "F3"), exact, truth);
            Report.Print(ui, table);
            return ScgApp.Ok;
        }));
        return command;
    }
}
