// A stochastic computation graph that is not an SBN, built with the public API and trained, evaluated and
// checkpointed with the library's own tools: a relaxed 4-way categorical node z1 (Concrete, pathwise gradient) and
// eight binary units z2 drawn given z1 (discrete, score-function gradient), on the embedded sbn-toy data.
using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Models;
using Scg.Models.Data;
using Scg.Models.Sbn;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

var data = DataSets.Load(ToySbn.Name, Binarization.Fixed);
var model = new MixedModel(data.Train.Features, new Rng(1));
var trainer = Trainer.Create(model, new VimcoEstimator<float>(), new TrainSettings { Samples = 5, BatchSize = 32, LearningRate = 3e-3 }, new Rng(2));
var batches = new BatchSchedule(data.Train, trainer.Settings.BatchSize, epoch => new Rng(3, (int)epoch));
var batch = new float[trainer.Settings.BatchSize * data.Train.Features];

double Test(IStochasticModel m, long step) => Evaluation.Bound(m, data.Test.Values, k: 100, new Rng(4), step);
Console.WriteLine($"test L_100 before training: {Test(model, 0):F3}");
for (int step = 1; step <= 3000; step++)
{
    batches.Fill(step - 1, batch);
    double bound = trainer.Step(batch);
    if (step % 1000 == 0) Console.WriteLine($"step {step}: training L_5 {bound:F3}");
}
double trained = Test(model, trainer.StepCount);
Console.WriteLine($"test L_100 after training:  {trained:F3}");

string path = Path.Combine(Path.GetTempPath(), $"mixed-graph-{Environment.ProcessId}.scg");
Checkpoint.SaveTrainer(path, trainer);
var restored = Trainer.Create(new MixedModel(data.Train.Features, new Rng(99)), new VimcoEstimator<float>(), trainer.Settings, new Rng(2));
Checkpoint.Read(path).RestoreTrainer(restored);
File.Delete(path);
double again = Test(restored.Model, restored.StepCount);
Console.WriteLine($"test L_100 of the model restored from its checkpoint: {again:F3} ({(again == trained ? "identical" : "DIFFERENT")})");
return again == trained ? 0 : 1;

/// <summary>q(z1|x) q(z2|x,z1) against p(z1) p(z2|z1) p(x|z1,z2).</summary>
sealed class MixedModel(int features, Rng rng) : IStochasticModel
{
    readonly ConcreteNodes<float> _z1 = new(new NodeLayout(4, NodeEncoding.OneHot), TemperatureSchedule.Constant(2.0 / 3), TemperatureSchedule.Constant(0.5));
    readonly ScoreFunctionNodes<float> _z2 = new(new NodeLayout(2));
    readonly Mlp<float> _qz1 = new(rng, [features, 32, 4], Activation.Tanh, "q.z1");
    readonly Mlp<float> _qz2 = new(rng, [features + 4, 32, 8], Activation.Tanh, "q.z2");
    readonly Tensor<float> _pz1 = Tensor<float>.Zeros(4).AsParameter("p.z1");
    readonly Linear<float> _pz2 = new(rng, 4, 8, name: "p.z2");
    readonly Mlp<float> _px = new(rng, [4 + 8, 32, features], Activation.Tanh, "p.x");

    public int RowFeatures => features;
    public IReadOnlyList<NodeFamily<float>> Families => [_z1, _z2];

    public IEnumerable<Tensor<float>> Parameters() =>
        new[] { _pz1 }.Concat(_qz1.Parameters()).Concat(_qz2.Parameters()).Concat(_pz2.Parameters()).Concat(_px.Parameters());

    public Tensor<float> LogWeights(StochasticGraph<float> graph, Tensor<float> rows, int samples, bool training)
    {
        var x = SampleMajor.Repeat(rows, samples);
        var z1 = graph.Sample(_z1, _qz1.Forward(x));
        var z2 = graph.Sample(_z2, _qz2.Forward(Ops.Concat(1, x, z1.Value)));
        var logP = z1.LogPrior(_pz1) + z2.LogPrior(_pz2.Forward(z1.Value))
                 - Ops.BinaryCrossEntropyWithLogits(_px.Forward(Ops.Concat(1, z1.Value, z2.Value)), x).Sum(-1);
        return (logP - z1.LogProb - z2.LogProb).Reshape(samples, rows.Shape[0]);
    }
}
