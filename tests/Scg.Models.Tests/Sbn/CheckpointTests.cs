using System.Runtime.InteropServices;
using Scg.Autodiff;
using Scg.Models.Data;
using Scg.Models.Sbn;
using Scg.Stochastic.Estimators;

namespace Scg.Models.Tests;

public sealed class CheckpointTests : IDisposable
{
    readonly ScratchDir _dir = new();
    static readonly DataSplits Toy = ToySbn.Load();

    public void Dispose() => _dir.Dispose();

    static Trainer<SigmoidBeliefNet> NewTrainer(string estimator, int samples = 1, string spec = "4H~8H~32V")
    {
        var choice = EstimatorChoice.Parse(estimator);
        var model = new SigmoidBeliefNet(LayerSpec.Parse(spec), new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 16 : 0 }, TestModels.Family(estimator), new Rng(1), Toy.BaseRate);
        return TestModels.Trainer(model, estimator, new TrainSettings { Samples = samples, BatchSize = 16, LearningRate = 1e-2 }, new Rng(2));
    }

    /// <summary>The run header the program writes for an SBN trainer (the estimator's name is that of its choice).</summary>
    static CheckpointHeader Header(Trainer<SigmoidBeliefNet> trainer, string data, ulong seed, Binarization binarization = Binarization.Fixed, NodeSettings? nodes = null)
    {
        var m = trainer.Model;
        string name = trainer.Estimator.Name == "reinforce-ema" ? "reinforce" : trainer.Estimator.Name;
        return CheckpointHeader.Of(m.Spec, m.Options, name, nodes ?? new NodeSettings { Arity = m.Family.Layout.Arity, Encoding = m.Family.Layout.Encoding },
            trainer.Settings, data, seed, trainer.StepCount, binarization);
    }

    static void Save(string path, Trainer<SigmoidBeliefNet> trainer, string data, ulong seed, Binarization binarization = Binarization.Fixed, NodeSettings? nodes = null) =>
        Checkpoint.Save(path, trainer, Header(trainer, data, seed, binarization, nodes));

    static float[] Batch(int step) => Toy.Train.Values.Slice(step * 16 * 32, 16 * 32).ToArray();

    static void Train(Trainer<SigmoidBeliefNet> trainer, int from, int to)
    {
        for (int s = from; s < to; s++)
        {
            trainer.Reseed(new Rng(100 + (ulong)s));
            trainer.Step(Batch(s));
        }
    }

    static byte[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.AsBytes(values).ToArray();

    static void AssertSameState(Trainer<SigmoidBeliefNet> expected, Trainer<SigmoidBeliefNet> actual)
    {
        Assert.Equal(expected.StepCount, actual.StepCount);
        Assert.Equal(expected.Optimizer.StepCount, actual.Optimizer.StepCount);
        var e = expected.Optimizer.Parameters.Items;
        var a = actual.Optimizer.Parameters.Items;
        Assert.Equal(e.Select(p => p.Name), a.Select(p => p.Name));
        for (int i = 0; i < e.Count; i++)
        {
            Assert.Equal(e[i].Shape, a[i].Shape);
            Assert.Equal(Bits(e[i].Span), Bits(a[i].Span));
            Assert.Equal(Bits(expected.Optimizer.Moments(i).First), Bits(actual.Optimizer.Moments(i).First));
            Assert.Equal(Bits(expected.Optimizer.Moments(i).Second), Bits(actual.Optimizer.Moments(i).Second));
        }
        for (int k = 0; k < expected.Model.Centering.Count; k++)
            Assert.Equal(Bits(expected.Model.Centering[k]), Bits(actual.Model.Centering[k]));
        if (expected.Estimator is ReinforceEstimator<float> re)
        {
            var ra = Assert.IsType<ReinforceEstimator<float>>(actual.Estimator);
            Assert.Equal(re.RunningMean, ra.RunningMean);
            Assert.Equal(re.RunningVariance, ra.RunningVariance);
        }
    }

    [Theory]
    [InlineData("concrete", 1)]
    [InlineData("nvil", 1)]
    [InlineData("vimco", 3)]
    [InlineData("igr", 1)]
    public void RoundTripRestoresEveryBitOfTheTrainingState(string estimator, int samples)
    {
        var trainer = NewTrainer(estimator, samples);
        Train(trainer, 0, 5);
        string path = _dir.File($"{estimator}.scg");
        Save(path, trainer, ToySbn.Name, seed: 42);

        var checkpoint = Checkpoint.Read(path);
        Assert.Equal("4H~8H~32V", checkpoint.Header.Spec);
        Assert.Equal(estimator, checkpoint.Header.Estimator);
        Assert.Equal(samples, checkpoint.Header.Samples);
        Assert.Equal(5, checkpoint.Header.Step);
        Assert.Equal(42UL, checkpoint.Header.Seed);
        Assert.Equal(ToySbn.Name, checkpoint.Header.Data);
        var restored = checkpoint.CreateTrainer(new Rng(0));
        AssertSameState(trainer, restored);

        // and the restored trainer continues exactly as the original one
        Train(trainer, 5, 9);
        Train(restored, 5, 9);
        AssertSameState(trainer, restored);
    }

    [Fact]
    public void TemperatureSchedulesAndSettingsSurviveTheHeader()
    {
        var choice = EstimatorChoice.Parse("concrete");
        var nodes = new NodeSettings
        {
            Arity = 4, PosteriorTemperature = TemperatureSchedule.ExponentialDecay(1.0, 1e-4, 0.5), PriorTemperature = TemperatureSchedule.Constant(2.0 / 3),
        };
        var model = new SigmoidBeliefNet(LayerSpec.Parse("8H-32V"), new SbnOptions { HiddenUnits = 5 }, choice.Family(nodes), new Rng(1));
        var settings = new TrainSettings { Samples = 5, BatchSize = 8, LearningRate = 1.0 / 3, WeightDecay = 1e-3, LearningRateDecay = 1e-3, MinimumLearningRate = 0.05 };
        var trainer = Trainer.Create(model, choice.Create(settings.Samples), settings, new Rng(2));
        string path = _dir.File("settings.scg");
        Save(path, trainer, "mnist", 7, nodes: nodes);
        var h = Checkpoint.Read(path).Header;
        Assert.Equal(4, h.Arity);
        Assert.Equal(5, h.Options.HiddenUnits);
        Assert.Equal(settings.LearningRate, h.Settings.LearningRate);
        Assert.Equal(settings.WeightDecay, h.Settings.WeightDecay);
        Assert.Equal(settings.LearningRateDecay, h.Settings.LearningRateDecay);
        Assert.Equal(settings.MinimumLearningRate, h.Settings.MinimumLearningRate);
        Assert.Equal(8, h.Settings.BatchSize);
        for (long step = 0; step < 20_000; step += 997)
        {
            Assert.Equal(nodes.PosteriorTemperature.At(step), h.Nodes.PosteriorTemperature.At(step));
            Assert.Equal(nodes.PriorTemperature.At(step), h.Nodes.PriorTemperature.At(step));
        }
    }

    [Theory]
    [InlineData("concrete", Stochastic.Graph.RelaxedOutput.Simplex)]
    [InlineData("igr", Stochastic.Graph.RelaxedOutput.Simplex)]
    [InlineData("concrete", Stochastic.Graph.RelaxedOutput.LogSimplex)]
    [InlineData("igr", Stochastic.Graph.RelaxedOutput.LogSimplex)]
    [InlineData("igr", Stochastic.Graph.RelaxedOutput.GaussianLogSoftmax)]
    public void ADiscreteVaeRoundTripsWithItsOptionsAndContinuesExactly(string estimator, Stochastic.Graph.RelaxedOutput output)
    {
        var choice = EstimatorChoice.Parse(estimator);
        var nodes = new NodeSettings { Arity = 3, Encoding = Stochastic.Graph.NodeEncoding.OneHot, RelaxedOutput = output };
        var model = DiscreteVae.Create(3, choice.Family(nodes), 32, hiddenUnits: 6, 0, new Rng(1), Toy.BaseRate);
        var trainer = TestModels.Trainer(model, estimator, new TrainSettings { BatchSize = 16, LearningRate = 1e-2 }, new Rng(2));
        Train(trainer, 0, 3);
        string path = _dir.File("dvae.scg");
        Save(path, trainer, ToySbn.Name, 1, nodes: nodes);
        Assert.Equal(output, Checkpoint.Read(path).Header.Nodes.RelaxedOutput);
        Assert.Equal(output != Stochastic.Graph.RelaxedOutput.Simplex, Checkpoint.Read(path).CreateTrainer(new Rng(0)).Model.Family.EvaluatesRelaxed);

        var checkpoint = Checkpoint.Read(path);
        var otherOutput = nodes with { RelaxedOutput = output == Stochastic.Graph.RelaxedOutput.Simplex ? Stochastic.Graph.RelaxedOutput.LogSimplex : Stochastic.Graph.RelaxedOutput.Simplex };
        var refused = Assert.Throws<InvalidDataException>(() => checkpoint.RequireSameModel(Header(trainer, ToySbn.Name, 1, nodes: otherOutput)));
        Assert.Contains($"passes on the relaxed {output switch
        {
            Stochastic.Graph.RelaxedOutput.Simplex => "simplex point",
            Stochastic.Graph.RelaxedOutput.LogSimplex => "log-simplex value",
            _ => "log-softmax of IGR's Gaussian coordinates",
        }}", refused.Message);
        checkpoint.RequireSameModel(Header(trainer, ToySbn.Name, 1, nodes: nodes));
        Assert.Equal(model.Options, checkpoint.Header.Options);
        Assert.Equal((3, Stochastic.Graph.NodeEncoding.OneHot, true, 6), (checkpoint.Header.Arity, checkpoint.Header.Encoding, checkpoint.Header.Options.UniformPrior, checkpoint.Header.Options.HiddenUnits));
        var restored = checkpoint.CreateTrainer(new Rng(0));
        Assert.Equal(model.Options, restored.Model.Options);
        Assert.Equal(Bits(model.TopPrior!.Span), Bits(restored.Model.TopPrior!.Span));   // the constant uniform prior (IGR: fitted) is rebuilt identically
        AssertSameState(trainer, restored);
        Train(trainer, 3, 6);
        Train(restored, 3, 6);
        AssertSameState(trainer, restored);
    }

    [Fact]
    public void TheBinarizationIsRecordedAndMustMatchOnResume()
    {
        var trainer = NewTrainer("concrete");
        string path = _dir.File("dynamic.scg");
        Save(path, trainer, "mnist", 1, Binarization.Dynamic);
        var checkpoint = Checkpoint.Read(path);
        Assert.Equal(Binarization.Dynamic, checkpoint.Header.Binarization);
        Assert.Equal("mnist (dynamic binarization)", checkpoint.Header.DataDescription);
        checkpoint.RequireSameModel(Header(trainer, "mnist", 1, Binarization.Dynamic));
        var e = Assert.Throws<InvalidDataException>(() => checkpoint.RequireSameModel(Header(trainer, "mnist", 1)));
        Assert.Contains("was trained on mnist (dynamic binarization), not mnist.", e.Message);

        Save(path, trainer, "mnist", 1);
        Assert.Equal(Binarization.Fixed, Checkpoint.Read(path).Header.Binarization);
    }

    [Fact]
    public void SaveIsAtomicAndOverwritesTheLastCheckpoint()
    {
        var trainer = NewTrainer("concrete");
        string path = _dir.File("run.scg");
        Save(path, trainer, ToySbn.Name, 1);
        Train(trainer, 0, 2);
        Save(path, trainer, ToySbn.Name, 1);
        Assert.Equal(2, Checkpoint.Read(path).Header.Step);
        Assert.Equal(["run.scg"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void ACheckpointOfAnotherModelIsRefusedWithAClearMessage()
    {
        var trainer = NewTrainer("concrete");
        string path = _dir.File("a.scg");
        Save(path, trainer, ToySbn.Name, 1);
        var checkpoint = Checkpoint.Read(path);
        var other = Header(NewTrainer("concrete", spec: "8H-32V"), ToySbn.Name, 1);
        var e = Assert.Throws<InvalidDataException>(() => checkpoint.RequireSameModel(other));
        Assert.Contains("holds model 4H~8H~32V", e.Message);
        Assert.Contains("not 8H-32V", e.Message);

        var otherEstimator = Header(NewTrainer("nvil"), ToySbn.Name, 1);
        Assert.Contains("trained with concrete", Assert.Throws<InvalidDataException>(() => checkpoint.RequireSameModel(otherEstimator)).Message);
        checkpoint.RequireSameModel(Header(trainer, ToySbn.Name, 1));
    }

    [Fact]
    public void SaveAndReadStreamInsteadOfHoldingTheWholeFileInMemory()
    {
        // 1000H-784V: 1.57 million parameters, a checkpoint of about 19 MB with Adam's moments
        var model = new SigmoidBeliefNet(LayerSpec.Parse("1000H-784V"), new SbnOptions(), TestModels.Family("concrete"), new Rng(1));
        var trainer = TestModels.Trainer(model, "concrete", new TrainSettings(), new Rng(2));
        string path = _dir.File("large.scg");
        Save(path, trainer, ToySbn.Name, 1);   // once before measuring: JIT and static tables
        long before = GC.GetAllocatedBytesForCurrentThread();
        Save(path, trainer, ToySbn.Name, 1);
        long saving = GC.GetAllocatedBytesForCurrentThread() - before;
        long size = new FileInfo(path).Length;
        Assert.True(saving < size / 4, $"saving a checkpoint of {size} bytes allocated {saving} bytes");

        before = GC.GetAllocatedBytesForCurrentThread();
        var read = Checkpoint.Read(path);
        long reading = GC.GetAllocatedBytesForCurrentThread() - before;
        long values = read.Tensors.Values.Sum(t => 4L * t.Values.Length);
        Assert.True(reading < values + size / 4, $"reading a checkpoint of {size} bytes ({values} of tensors) allocated {reading} bytes");
        AssertSameState(trainer, read.CreateTrainer(new Rng(0)));
    }

    [Fact]
    public void DamagedTruncatedOrForeignFilesAreRejected()
    {
        var trainer = NewTrainer("nvil");
        string path = _dir.File("good.scg");
        Save(path, trainer, ToySbn.Name, 1);
        byte[] good = File.ReadAllBytes(path);

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x10;
        File.WriteAllBytes(_dir.File("flipped.scg"), flipped);
        Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => Checkpoint.Read(_dir.File("flipped.scg"))).Message);

        File.WriteAllBytes(_dir.File("short.scg"), good.AsSpan(0, good.Length - 100).ToArray());
        Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => Checkpoint.Read(_dir.File("short.scg"))).Message);

        var future = (byte[])good.Clone();
        future[8] = 99;
        File.WriteAllBytes(_dir.File("future.scg"), future);
        Assert.Contains("version 99", Assert.Throws<InvalidDataException>(() => Checkpoint.Read(_dir.File("future.scg"))).Message);

        File.WriteAllText(_dir.File("text.scg"), "step,train_bound\n");
        Assert.Contains("not an scg checkpoint", Assert.Throws<InvalidDataException>(() => Checkpoint.Read(_dir.File("text.scg"))).Message);

        Assert.Throws<FileNotFoundException>(() => Checkpoint.Read(_dir.File("missing.scg")));
    }
}

/// <summary>A fresh folder under the temp folder, deleted on dispose.</summary>
sealed class ScratchDir : IDisposable
{
    public ScratchDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"scg-test-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
