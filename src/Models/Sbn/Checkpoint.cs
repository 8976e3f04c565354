using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Scg.Autodiff;
using Scg.Models.Reporting;
using Binarization = Scg.Models.Data.Binarization;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>What a checkpoint says about its run: model, estimator, settings, data and where it stopped.</summary>
public sealed record CheckpointHeader
{
    public required string Spec { get; init; }
    /// <summary>The model's options, stored whole so that options added later round-trip too.</summary>
    public required SbnOptions Options { get; init; }
    public required string Estimator { get; init; }
    public int Samples { get; init; } = 1;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; }
    public double WeightDecay { get; init; }
    public required string PosteriorTemperature { get; init; }
    public required string PriorTemperature { get; init; }
    public double IgrDelta { get; init; } = new TrainSettings().IgrDelta;
    /// <summary>Name of the data set the model was trained on (as <see cref="Data.DataSets.Load"/> knows it).</summary>
    public required string Data { get; init; }
    /// <summary>How the training split was binarized (Fixed in checkpoints written before this was recorded); valid and test use the fixed bits.</summary>
    public Binarization Binarization { get; init; } = Binarization.Fixed;
    public ulong Seed { get; init; }
    /// <summary>Training steps taken when the checkpoint was written.</summary>
    public long Step { get; init; }

    [JsonIgnore]
    public TrainSettings Settings => new()
    {
        Samples = Samples, BatchSize = BatchSize, LearningRate = LearningRate, WeightDecay = WeightDecay,
        PosteriorTemperature = TemperatureSchedule.Parse(PosteriorTemperature),
        PriorTemperature = TemperatureSchedule.Parse(PriorTemperature), IgrDelta = IgrDelta,
    };

    /// <summary>The header of a trainer's current state.</summary>
    public static CheckpointHeader Of(Trainer trainer, string data, ulong seed, Binarization binarization = Binarization.Fixed) =>
        Of(trainer.Model.Spec, trainer.Model.Options, trainer.Choice.Name, trainer.Settings, data, seed, trainer.StepCount, binarization);

    public static CheckpointHeader Of(LayerSpec spec, SbnOptions options, string estimator, TrainSettings s, string data, ulong seed, long step = 0,
        Binarization binarization = Binarization.Fixed) => new()
    {
        Spec = spec.Text, Options = options, Estimator = estimator,
        Samples = s.Samples, BatchSize = s.BatchSize, LearningRate = s.LearningRate, WeightDecay = s.WeightDecay,
        PosteriorTemperature = s.PosteriorTemperature.ToString()!, PriorTemperature = s.PriorTemperature.ToString()!,
        IgrDelta = s.IgrDelta, Data = data, Binarization = binarization, Seed = seed, Step = step,
    };

    /// <summary>"200H~784V (arity 2 corners, learned prior, hidden units 0, …)": the part that must match for parameters to fit.</summary>
    [JsonIgnore]
    public string ModelDescription => $"{Spec} (arity {Options.Arity} {(Options.Encoding == NodeEncoding.OneHot ? "one-hot" : "corners")}, " +
        $"{(Options.UniformPrior ? "uniform" : "learned")} prior, hidden units {Options.HiddenUnits}, " +
        $"{(Options.GaussianParameters ? "Gaussian" : "logit")} node parameters, baseline {Options.BaselineUnits})";

    /// <summary>"mnist" or "mnist (dynamic binarization)": the training data.</summary>
    [JsonIgnore]
    public string DataDescription => Binarization == Binarization.Fixed ? Data : $"{Data} (dynamic binarization)";
}

/// <summary>
/// A training checkpoint, format version 1 (all numbers little-endian):
/// <code>
/// "SCGCKPT\0"  int32 version
/// int32 n, n bytes UTF-8 JSON   the header (<see cref="CheckpointHeader"/>)
/// int32 count, then count × { string name, int32 rank, int32[rank] dims, float32[size] values }
///     "param/NAME"   every model (and baseline) parameter
///     "adam.m/NAME", "adam.v/NAME"   Adam's moments, per optimized parameter
///     "centering/K"  the running means that center inference network K's input
/// int64 Adam's step count
/// byte has-statistics, float64 running mean, float64 running variance   (score-function estimators)
/// uint32 CRC-32 of every byte before it
/// </code>
/// <see cref="Save"/> writes &lt;path&gt;.tmp and renames it over &lt;path&gt;, so a crash never leaves a corrupt checkpoint.
/// The random generator is not stored: a run re-seeds from (seed, step).
/// </summary>
public sealed class Checkpoint
{
    public const int Version = 1;
    static ReadOnlySpan<byte> Magic => "SCGCKPT\0"u8;
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Converters = { new JsonStringEnumConverter() } };   // enums by name; numbers still read

    public CheckpointHeader Header { get; }
    public IReadOnlyDictionary<string, (int[] Shape, float[] Values)> Tensors { get; }
    public long AdamSteps { get; }
    public (double Mean, double Variance)? EstimatorStatistics { get; }
    public string Path { get; }

    Checkpoint(string path, CheckpointHeader header, Dictionary<string, (int[], float[])> tensors, long adamSteps, (double, double)? stats)
    {
        Path = path; Header = header; Tensors = tensors; AdamSteps = adamSteps; EstimatorStatistics = stats;
    }

    /// <summary>Writes the trainer's full state to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Trainer trainer, string data, ulong seed, Binarization binarization = Binarization.Fixed)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("checkpoints are written on little-endian machines only.");
        var header = CheckpointHeader.Of(trainer, data, seed, binarization);
        var tensors = new List<(string Name, int[] Shape, float[] Values)>();
        var optimized = trainer.Optimizer.Parameters.Items;
        foreach (var p in optimized) tensors.Add(("param/" + NameOf(p), p.Shape.ToArray(), p.ToArray()));
        foreach (var p in trainer.Model.Parameters().Concat(trainer.Model.BaselineParameters()).Where(p => !optimized.Contains(p)))
            tensors.Add(("param/" + NameOf(p), p.Shape.ToArray(), p.ToArray()));
        for (int i = 0; i < optimized.Count; i++)
        {
            var (m, v) = trainer.Optimizer.Moments(i);
            tensors.Add(("adam.m/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), (float[])m.Clone()));
            tensors.Add(("adam.v/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), (float[])v.Clone()));
        }
        for (int k = 0; k < trainer.Model.Centering.Count; k++)
            tensors.Add(($"centering/{k}", [trainer.Model.Centering[k].Length], (float[])trainer.Model.Centering[k].Clone()));

        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            w.Write(json.Length);
            w.Write(json);
            w.Write(tensors.Count);
            foreach (var (name, shape, values) in tensors)
            {
                w.Write(name);
                w.Write(shape.Length);
                foreach (int d in shape) w.Write(d);
                w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            }
            w.Write(trainer.Optimizer.StepCount);
            if (trainer.Estimator is ReinforceEstimator<float> r && trainer.StepCount > 0)
            {
                w.Write((byte)1); w.Write(r.RunningMean); w.Write(r.RunningVariance);
            }
            else
            {
                w.Write((byte)0); w.Write(0.0); w.Write(1.0);
            }
        }
        uint crc = System.IO.Hashing.Crc32.HashToUInt32(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        buffer.Write(BitConverter.GetBytes(crc));
        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }

    static string NameOf(Tensor<float> p) => p.Name ?? throw new InvalidOperationException($"checkpoint: a parameter of shape {p.Shape} has no name.");

    /// <summary>Reads and verifies a checkpoint; a file that is not one, of another version, or damaged gives an <see cref="InvalidDataException"/> naming it.</summary>
    public static Checkpoint Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist.", path);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 8 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not an scg checkpoint (it does not start with SCGCKPT).");
        int version = BitConverter.ToInt32(bytes, Magic.Length);
        if (version != Version)
            throw new InvalidDataException($"checkpoint '{path}' has format version {version}; this program reads version {Version}.");
        uint stored = BitConverter.ToUInt32(bytes, bytes.Length - 4);
        if (System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4)) != stored)
            throw new InvalidDataException($"checkpoint '{path}' is damaged: its CRC-32 does not match its contents.");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, Magic.Length + 4, bytes.Length - Magic.Length - 8), Encoding.UTF8);
            int jsonLength = r.ReadInt32();
            var header = JsonSerializer.Deserialize<CheckpointHeader>(r.ReadBytes(jsonLength), Json)
                ?? throw new InvalidDataException("empty header");
            int count = r.ReadInt32();
            var tensors = new Dictionary<string, (int[], float[])>(count);
            for (int t = 0; t < count; t++)
            {
                string name = r.ReadString();
                int rank = r.ReadInt32();
                if (rank is < 0 or > 8) throw new InvalidDataException($"tensor '{name}' has rank {rank}");
                var shape = new int[rank];
                long size = 1;
                for (int d = 0; d < rank; d++) { shape[d] = r.ReadInt32(); size *= shape[d]; }
                if (size < 0 || size * 4 > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException($"tensor '{name}' is truncated");
                var values = new float[size];
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                tensors.Add(name, (shape, values));
            }
            long adamSteps = r.ReadInt64();
            bool hasStats = r.ReadByte() == 1;
            double mean = r.ReadDouble(), variance = r.ReadDouble();
            return new Checkpoint(path, header, tensors, adamSteps, hasStats ? (mean, variance) : null);
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or ArgumentException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"checkpoint '{path}' is malformed: {e.Message}", e);
        }
    }

    /// <summary>A model of the checkpoint's spec with its parameters and centering means restored.</summary>
    public SigmoidBeliefNet CreateModel()
    {
        LayerSpec spec;
        try { spec = LayerSpec.Parse(Header.Spec); }
        catch (FormatException e) { throw new InvalidDataException($"checkpoint '{Path}': {e.Message}", e); }
        var model = new SigmoidBeliefNet(spec, Header.Options, new Rng(0));
        foreach (var p in model.Parameters().Concat(model.BaselineParameters())) Copy("param/" + NameOf(p), p.Shape.ToArray(), p.Span);
        for (int k = 0; k < model.Centering.Count; k++) Copy($"centering/{k}", [model.Centering[k].Length], model.Centering[k]);
        return model;
    }

    /// <summary>A trainer in exactly the state the checkpoint was written in (parameters, Adam, estimator statistics, step).</summary>
    public Trainer CreateTrainer(Rng rng)
    {
        var model = CreateModel();
        var choice = EstimatorChoice.Parse(Header.Estimator);
        var trainer = new Trainer(model, choice, Header.Settings, rng);
        var optimized = trainer.Optimizer.Parameters.Items;
        for (int i = 0; i < optimized.Count; i++)
        {
            var (m, v) = trainer.Optimizer.Moments(i);
            Copy("adam.m/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), m);
            Copy("adam.v/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), v);
        }
        trainer.Optimizer.RestoreStepCount(AdamSteps);
        if (EstimatorStatistics is var (mean, variance) && trainer.Estimator is ReinforceEstimator<float> r) r.Restore(mean, variance);
        trainer.RestoreStepCount(Header.Step);
        return trainer;
    }

    void Copy(string name, int[] shape, Span<float> destination)
    {
        if (!Tensors.TryGetValue(name, out var t))
            throw new InvalidDataException($"checkpoint '{Path}' has no tensor '{name}' for model {Header.ModelDescription}.");
        if (!t.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"checkpoint '{Path}': tensor '{name}' has shape [{string.Join(", ", t.Shape)}], the model needs [{string.Join(", ", shape)}].");
        t.Values.CopyTo(destination);
    }

    /// <summary>
    /// Throws an <see cref="InvalidDataException"/> saying what differs when this checkpoint was not written by a run of
    /// <paramref name="expected"/>'s model, estimator and data (the settings a resumed run must keep).
    /// </summary>
    public void RequireSameModel(CheckpointHeader expected)
    {
        static SbnOptions Shape(SbnOptions o) => o with { BaselineUnits = 0, GaussianParameters = false };
        string Mismatch() => Header.ModelDescription != expected.ModelDescription
            ? $"checkpoint '{Path}' holds model {Header.ModelDescription}, not {expected.ModelDescription}."
            : $"checkpoint '{Path}' holds model {Header.Spec} with {Header.Options}, not {expected.Options}.";
        if (Header.Spec != expected.Spec || Shape(Header.Options) != Shape(expected.Options))
            throw new InvalidDataException(Mismatch());
        if (Header.Estimator != expected.Estimator || Header.Samples != expected.Samples)
            throw new InvalidDataException($"checkpoint '{Path}' was trained with {Header.Estimator} (m = {Header.Samples}), not {expected.Estimator} (m = {expected.Samples}).");
        if (Header.Options != expected.Options)
            throw new InvalidDataException(Mismatch());
        if (Header.DataDescription != expected.DataDescription)
            throw new InvalidDataException($"checkpoint '{Path}' was trained on {Header.DataDescription}, not {expected.DataDescription}.");
    }
}
