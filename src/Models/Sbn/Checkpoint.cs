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

/// <summary>How long a run trains and how it is checked: what a resumed run continues with.</summary>
public sealed record RunSchedule
{
    /// <summary>The total number of training steps.</summary>
    public int Steps { get; init; }
    /// <summary>Steps between validation passes and checkpoints.</summary>
    public int EvalEvery { get; init; }
    /// <summary>k of the final test bound L_k.</summary>
    public int EvalSamples { get; init; }
}

/// <summary>What a checkpoint says about its run: model, estimator, settings, data and where it stopped.</summary>
public sealed record CheckpointHeader
{
    /// <summary>The model's layer specification (<see cref="LayerSpec.Text"/>).</summary>
    public required string Spec { get; init; }
    /// <summary>The model's options, stored whole so that options added later round-trip too.</summary>
    public required SbnOptions Options { get; init; }
    /// <summary>Arity of the latent nodes.</summary>
    public int Arity { get; init; } = 2;
    /// <summary>What a latent node passes on (corners or one-hot vectors).</summary>
    public NodeEncoding Encoding { get; init; } = NodeEncoding.Corners;
    /// <summary>The estimator's name, as <see cref="EstimatorChoice.Parse"/> reads it.</summary>
    public required string Estimator { get; init; }
    /// <summary>m, the samples per data point of the training bound.</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Data points per training batch.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam's step size.</summary>
    public double LearningRate { get; init; }
    /// <summary>The L2 weight decay λ.</summary>
    public double WeightDecay { get; init; }
    /// <summary>k of the step size's inverse-time decay (0, constant, in checkpoints written before this was recorded).</summary>
    public double LearningRateDecay { get; init; }
    /// <summary>The floor of the decayed step size.</summary>
    public double MinimumLearningRate { get; init; }
    /// <summary>λ1's schedule, as <see cref="TemperatureSchedule.Parse"/> reads it.</summary>
    public required string PosteriorTemperature { get; init; }
    /// <summary>λ2's schedule, as <see cref="TemperatureSchedule.Parse"/> reads it.</summary>
    public required string PriorTemperature { get; init; }
    /// <summary>δ of IGR's softmax++.</summary>
    public double IgrDelta { get; init; } = new NodeSettings().IgrDelta;
    /// <summary>Whether IGR nodes learned their scales (Learned in checkpoints written before this was recorded).</summary>
    public IgrScale IgrScale { get; init; } = IgrScale.Learned;
    /// <summary>What relaxed nodes pass downstream (Simplex in checkpoints written before this was recorded).</summary>
    public RelaxedOutput RelaxedOutput { get; init; } = RelaxedOutput.Simplex;
    /// <summary>The Gaussian of IGR's uniform prior when given rather than fitted (null: fitted by Eq. 20, as in checkpoints written before this was recorded).</summary>
    public IgrPriorGaussian? IgrPrior { get; init; }
    /// <summary>Name of the data set the model was trained on (as <see cref="Data.DataSets.Load"/> knows it).</summary>
    public required string Data { get; init; }
    /// <summary>How the training split was binarized (Fixed in checkpoints written before this was recorded); valid and test use the fixed bits.</summary>
    public Binarization Binarization { get; init; } = Binarization.Fixed;
    /// <summary>The run's seed: the generators of every step are derived from it and the step.</summary>
    public ulong Seed { get; init; }
    /// <summary>Training steps taken when the checkpoint was written.</summary>
    public long Step { get; init; }
    /// <summary>The run's length and checks (null in checkpoints written before these were recorded, and outside a run).</summary>
    public RunSchedule? Schedule { get; init; }

    /// <summary>The trainer's settings these fields hold.</summary>
    [JsonIgnore]
    public TrainSettings Settings => new() { Samples = Samples, BatchSize = BatchSize, LearningRate = LearningRate, WeightDecay = WeightDecay,
        LearningRateDecay = LearningRateDecay, MinimumLearningRate = MinimumLearningRate,
    };

    /// <summary>What the run's node family is built from.</summary>
    [JsonIgnore]
    public NodeSettings Nodes => new()
    {
        Arity = Arity, Encoding = Encoding, IgrDelta = IgrDelta, IgrScale = IgrScale, RelaxedOutput = RelaxedOutput, IgrPrior = IgrPrior,
        PosteriorTemperature = TemperatureSchedule.Parse(PosteriorTemperature), PriorTemperature = TemperatureSchedule.Parse(PriorTemperature),
    };

    /// <summary>The header of a run of <paramref name="spec"/> with these settings, at training step <paramref name="step"/>.</summary>
    public static CheckpointHeader Of(LayerSpec spec, SbnOptions options, string estimator, NodeSettings nodes, TrainSettings s, string data, ulong seed,
        long step = 0, Binarization binarization = Binarization.Fixed) => new()
    {
        Spec = spec.Text, Options = options, Arity = nodes.Arity, Encoding = nodes.Encoding, Estimator = estimator,
        Samples = s.Samples, BatchSize = s.BatchSize, LearningRate = s.LearningRate, WeightDecay = s.WeightDecay,
        LearningRateDecay = s.LearningRateDecay, MinimumLearningRate = s.MinimumLearningRate,
        PosteriorTemperature = nodes.PosteriorTemperature.ToString()!, PriorTemperature = nodes.PriorTemperature.ToString()!,
        IgrDelta = nodes.IgrDelta, IgrScale = nodes.IgrScale, RelaxedOutput = nodes.RelaxedOutput, IgrPrior = nodes.IgrPrior, Data = data, Binarization = binarization, Seed = seed, Step = step,
    };

    /// <summary>True when the estimator's nodes carry IGR's Gaussian parameters (their width differs from logits').</summary>
    [JsonIgnore]
    public bool GaussianParameters => Estimator == "igr";

    /// <summary>"200H~784V (arity 2 corners, learned prior, hidden units 0, …)": the part that must match for parameters to fit.</summary>
    [JsonIgnore]
    public string ModelDescription => $"{Spec} (arity {Arity} {(Encoding == NodeEncoding.OneHot ? "one-hot" : "corners")}, " +
        $"{(Options.UniformPrior ? "uniform" : "learned")} prior, hidden units {Options.HiddenUnits} {Options.Activation.ToString().ToLowerInvariant()}, " +
        $"{(!GaussianParameters ? "logit" : IgrScale == IgrScale.Unit ? "Gaussian unit-scale" : "Gaussian")} node parameters, baseline {Options.BaselineUnits})";

    /// <summary>"mnist", "mnist (dynamic binarization)" or "mnist (thresholded)": the training data.</summary>
    [JsonIgnore]
    public string DataDescription => Binarization switch
    {
        Binarization.Dynamic => $"{Data} (dynamic binarization)",
        Binarization.Threshold => $"{Data} (thresholded)",
        _ => Data,
    };

    /// <summary>
    /// Throws an <see cref="InvalidDataException"/> naming the first field that no run could have written (e.g. a
    /// crafted or damaged file whose CRC still matches): what was found and what was expected.
    /// </summary>
    internal void Validate(string path)
    {
        void Require(bool ok, string field, object? found, string expected)
        {
            if (!ok) throw new InvalidDataException($"checkpoint '{path}' is malformed: {field} is {found ?? "missing"}; expected {expected}.");
        }
        Require(Data is not null && Scg.Models.Data.DataSets.Names.Contains(Data), "the data set", $"'{Data}'", $"one of {string.Join(", ", Scg.Models.Data.DataSets.Names)}");
        Require(Enum.IsDefined(Binarization), "the binarization", Binarization, "Fixed, Dynamic or Threshold");
        var choice = EstimatorChoice.All.FirstOrDefault(e => e.Name == Estimator);
        Require(choice is not null, "the estimator", $"'{Estimator}'", $"one of {string.Join(", ", EstimatorChoice.All.Select(e => e.Name))}");
        LayerSpec spec;
        try { spec = LayerSpec.Parse(Spec ?? ""); }
        catch (FormatException e) { throw new InvalidDataException($"checkpoint '{path}' is malformed: {e.Message}", e); }
        Require(Options is not null, "the model options", null, "an object");
        Require(Enum.IsDefined(Encoding), "the encoding", Encoding, "Corners or OneHot");
        if (Encoding == NodeEncoding.Corners)
            Require(Arity >= 2 && (Arity & (Arity - 1)) == 0, "the arity", Arity, "a power of two ≥ 2 with corners encoding");
        else
            Require(Arity >= 2, "the arity", Arity, "≥ 2 categories per one-hot node");
        foreach (var layer in spec.Layers.Where(l => !l.Visible))
            if (Encoding == NodeEncoding.Corners)
                Require(layer.Units % Corners.Bits(Arity) == 0, $"layer {layer} of '{Spec}'", $"{layer.Units} units",
                    $"a multiple of the {Corners.Bits(Arity)} units of an {Arity}-ary node");
        Require(Options!.HiddenUnits >= 0, "the hidden units", Options.HiddenUnits, "≥ 0");
        Require(Enum.IsDefined(Options.Activation), "the activation", Options.Activation, "Tanh or Relu");
        if (Options.AnalyticKl)
            Require(GaussianParameters && Samples == 1 && !spec.IsConditional, "the closed-form KL", $"set for {Estimator} with m = {Samples}", "igr, m = 1 and a density model");
        if (Options.UniformPrior && GaussianParameters)
            Require(Encoding == NodeEncoding.OneHot || Arity == 2, "the arity", Arity, "2, or one-hot nodes, for a uniform IGR prior");
        Require(choice!.NeedsBaseline ? Options.BaselineUnits > 0 : Options.BaselineUnits >= 0, "the baseline units", Options.BaselineUnits, choice.NeedsBaseline ? $"> 0 for {Estimator}" : "≥ 0");
        Require(Options.CenteringDecay is >= 0 and <= 1, "the centering decay", Options.CenteringDecay, "a number in [0, 1]");
        Require(Samples >= choice.MinimumSamples, "m (samples)", Samples, $"≥ {choice.MinimumSamples} for {Estimator}");
        Require(BatchSize >= 1, "the batch size", BatchSize, "≥ 1");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), "the learning rate", LearningRate, "a number > 0");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "the weight decay", WeightDecay, "a number ≥ 0");
        Require(LearningRateDecay >= 0 && double.IsFinite(LearningRateDecay), "the learning-rate decay", LearningRateDecay, "a number ≥ 0");
        Require(MinimumLearningRate >= 0 && MinimumLearningRate <= LearningRate, "the learning rate's floor", MinimumLearningRate, "a number in [0, the learning rate]");
        Require(IgrDelta > 0 && double.IsFinite(IgrDelta), "IGR's δ", IgrDelta, "a number > 0");
        Require(Enum.IsDefined(IgrScale), "IGR's scale", IgrScale, "Learned or Unit");
        if (IgrScale == IgrScale.Unit)
        {
            Require(GaussianParameters, "IGR's scale", $"Unit for {Estimator}", "Learned unless the estimator is igr");
            Require(!Options.UniformPrior, "IGR's scale", "Unit with a uniform prior", "Learned, since a uniform prior's σ0 is fitted");
        }
        if (IgrPrior is { } g)
        {
            Require(GaussianParameters && Options.UniformPrior, "IGR's prior", $"given for {Estimator} with a {(Options.UniformPrior ? "uniform" : "learned")} prior", "none unless igr has a uniform prior");
            Require(double.IsFinite(g.Location) && g.Scale > 0 && double.IsFinite(g.Scale), "IGR's prior", $"μ0 = {g.Location}, σ0 = {g.Scale}", "a finite μ0 and a finite σ0 > 0");
        }
        foreach (var (field, text) in (ReadOnlySpan<(string, string)>)[("the posterior temperature", PosteriorTemperature), ("the prior temperature", PriorTemperature)])
            Require(IsSchedule(text), field, $"'{text}'", "a number > 0 or exp:λ0,k,λmin");
        Require(Step >= 0, "the step", Step, "≥ 0");
        if (Schedule is { } s)
        {
            Require(s.Steps >= 1, "the run's total steps", s.Steps, "≥ 1");
            Require(s.EvalEvery >= 1, "the steps between validations", s.EvalEvery, "≥ 1");
            Require(s.EvalSamples is >= 1 and <= 50_000, "the test bound's k", s.EvalSamples, "1 to 50000");
        }
    }

    static bool IsSchedule(string? text)
    {
        try { TemperatureSchedule.Parse(text ?? ""); return true; }
        catch (Exception e) when (e is FormatException or ArgumentException) { return false; }
    }
}

/// <summary>
/// A training checkpoint of any <see cref="IStochasticModel"/>'s trainer, format version 2 (all numbers little-endian):
/// <code>
/// "SCGCKPT\0"  int32 version
/// int32 n, n bytes UTF-8 JSON   the header (<see cref="CheckpointHeader"/> of an SBN run, or null)
/// int32 count, then count × { string name, int32 rank, int32[rank] dims, float32[size] values }
///     "param/NAME"   every model (and baseline) parameter
///     "adam.m/NAME", "adam.v/NAME"   Adam's moments, per optimized parameter
///     "state/K"  the model's other state (an SBN's running means that center inference network K's input)
/// int64 Adam's step count, int64 the trainer's step count
/// int32 count, count × float64   the estimator's running statistics (<see cref="IStatefulEstimator{T}"/>; 0 for none)
/// uint32 CRC-32 of every byte before it
/// </code>
/// Checkpoints are streamed in both directions, a tensor at a time, so their size is bounded by the disk, not by one
/// buffer. <see cref="Save"/> writes a temporary file beside &lt;path&gt; and renames it over &lt;path&gt;, so a crash never leaves a corrupt
/// checkpoint. The random generator is not stored: a run re-seeds from (seed, step).
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The file format version this library writes and reads.</summary>
    public const int Version = 2;
    static ReadOnlySpan<byte> Magic => "SCGCKPT\0"u8;
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Converters = { new JsonStringEnumConverter() } };   // enums by name; numbers still read
    /// <summary>Floats per read or write call: spans of bytes stay far below 2 GB.</summary>
    const int Chunk = 1 << 18;
    const int BufferBytes = 1 << 20;

    CheckpointHeader? _header;

    /// <summary>The SBN run's header; throws for a checkpoint of another model, written by <see cref="SaveTrainer"/>.</summary>
    public CheckpointHeader Header => _header ?? throw new InvalidDataException($"checkpoint '{Path}' holds a trainer of a model that is not an SBN run; it has no run header.");
    /// <summary>The saved tensors by name: parameters, Adam's moments and the model's state.</summary>
    public IReadOnlyDictionary<string, (int[] Shape, float[] Values)> Tensors { get; }
    /// <summary>Adam's step count (the t of its bias correction).</summary>
    public long AdamSteps { get; }
    /// <summary>The trainer's step count.</summary>
    public long TrainerSteps { get; }
    /// <summary>The estimator's running statistics (<see cref="IStatefulEstimator{T}.SaveState"/>); empty for an estimator without any.</summary>
    public IReadOnlyList<double> EstimatorState { get; }
    /// <summary>The file the checkpoint was read from.</summary>
    public string Path { get; }

    Checkpoint(string path, CheckpointHeader? header, Dictionary<string, (int[], float[])> tensors, long adamSteps, long trainerSteps, double[] estimatorState)
    {
        Path = path; _header = header; Tensors = tensors; AdamSteps = adamSteps; TrainerSteps = trainerSteps; EstimatorState = estimatorState;
    }

    /// <summary>Writes the trainer's full state with <paramref name="header"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Trainer<SigmoidBeliefNet> trainer, CheckpointHeader header) => AtomicFile.Write(path, stream => Write(stream, trainer, header));

    /// <summary>
    /// Writes the full state of a trainer of any model to <paramref name="path"/> atomically, without a run header;
    /// <see cref="RestoreTrainer"/> puts it back into a trainer of the same model.
    /// </summary>
    public static void SaveTrainer<TModel>(string path, Trainer<TModel> trainer) where TModel : IStochasticModel => AtomicFile.Write(path, stream => Write(stream, trainer, null));

    /// <summary>
    /// Streams the trainer's full state with <paramref name="header"/> (whose step must be the trainer's) to
    /// <paramref name="destination"/>, which stays open.
    /// </summary>
    public static void Write<TModel>(Stream destination, Trainer<TModel> trainer, CheckpointHeader? header) where TModel : IStochasticModel
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("checkpoints are written on little-endian machines only.");
        if (header is not null && header.Step != trainer.StepCount) throw new ArgumentException($"checkpoint header is at step {header.Step}, the trainer at step {trainer.StepCount}.", nameof(header));
        var optimized = trainer.Optimizer.Parameters.Items;
        var fixedParameters = trainer.Model.Parameters().Concat(trainer.Model.BaselineParameters()).Where(p => !optimized.Contains(p)).ToList();
        var crc = new CrcStream(destination);
        using (var w = new BinaryWriter(new BufferedStream(crc, BufferBytes), Encoding.UTF8))
        {
            w.Write(Magic);
            w.Write(Version);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            w.Write(json.Length);
            w.Write(json);
            var state = trainer.Model.State;
            w.Write(3 * optimized.Count + fixedParameters.Count + state.Count);
            foreach (var p in optimized.Concat(fixedParameters)) WriteTensor(w, "param/" + NameOf(p), p.Shape.ToArray(), p.Span);
            for (int i = 0; i < optimized.Count; i++)
            {
                var (m, v) = trainer.Optimizer.Moments(i);
                WriteTensor(w, "adam.m/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), m);
                WriteTensor(w, "adam.v/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), v);
            }
            for (int k = 0; k < state.Count; k++) WriteTensor(w, $"state/{k}", [state[k].Length], state[k]);
            w.Write(trainer.Optimizer.StepCount);
            w.Write(trainer.StepCount);
            var statistics = (trainer.Estimator as IStatefulEstimator<float>)?.SaveState() ?? [];
            w.Write(statistics.Count);
            foreach (double v in statistics) w.Write(v);
        }
        Span<byte> stored = stackalloc byte[4];
        BitConverter.TryWriteBytes(stored, crc.Crc);
        destination.Write(stored);
    }

    static void WriteTensor(BinaryWriter w, string name, int[] shape, ReadOnlySpan<float> values)
    {
        w.Write(name);
        w.Write(shape.Length);
        foreach (int d in shape) w.Write(d);
        for (int i = 0; i < values.Length; i += Chunk) w.Write(MemoryMarshal.AsBytes(values.Slice(i, Math.Min(Chunk, values.Length - i))));
    }

    static string NameOf(Tensor<float> p) => p.Name ?? throw new InvalidOperationException($"checkpoint: a parameter of shape {p.Shape} has no name.");

    /// <summary>
    /// Reads and verifies a checkpoint; a file that is not one, of another version, damaged, or holding values no run
    /// writes gives an <see cref="InvalidDataException"/> naming it and what was expected.
    /// </summary>
    public static Checkpoint Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist.", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes);
        long length = file.Length;
        Span<byte> start = stackalloc byte[12];
        if (length < Magic.Length + 8 || file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) < start.Length || !start[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not an scg checkpoint (it does not start with SCGCKPT).");
        int version = BitConverter.ToInt32(start[Magic.Length..]);
        if (version != Version)
            throw new InvalidDataException($"checkpoint '{path}' has format version {version}; this program reads version {Version}.");
        VerifyCrc(file, path);

        file.Position = start.Length;
        long end = length - 4;
        long Left() => end - file.Position;
        try
        {
            using var r = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
            int jsonLength = r.ReadInt32();
            if (jsonLength < 2 || jsonLength > Left())
                throw new InvalidDataException($"the header is {jsonLength} bytes long; expected 2 to {Left()} (the bytes left in the file)");
            var header = JsonSerializer.Deserialize<CheckpointHeader>(r.ReadBytes(jsonLength), Json);
            header?.Validate(path);
            int count = r.ReadInt32();
            const int smallestTensor = 1 + 4;   // an empty name and rank 0
            if (count < 0 || count > Left() / smallestTensor)
                throw new InvalidDataException($"the tensor count is {count}; expected 0 to {Left() / smallestTensor} for the {Left()} bytes left in the file");
            var tensors = new Dictionary<string, (int[], float[])>();
            for (int t = 0; t < count; t++)
            {
                string name = ReadName(r, Left());
                int rank = r.ReadInt32();
                if (rank is < 0 or > 8) throw new InvalidDataException($"tensor '{name}' has rank {rank}; expected 0 to 8");
                var shape = new int[rank];
                long size = 1;
                for (int d = 0; d < rank; d++)
                {
                    shape[d] = r.ReadInt32();
                    if (shape[d] < 0) throw new InvalidDataException($"tensor '{name}' has dimension {shape[d]}; expected ≥ 0");
                    size *= shape[d];
                    if (size * 4 > Left()) throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape[..(d + 1)])}…] needs {size * 4} bytes; {Left()} are left in the file");
                }
                if (size > Array.MaxLength) throw new InvalidDataException($"tensor '{name}' has {size} values; at most {Array.MaxLength} fit in one tensor");
                if (tensors.ContainsKey(name)) throw new InvalidDataException($"tensor '{name}' appears twice");
                var values = new float[size];
                for (int i = 0; i < values.Length; i += Chunk)
                    file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan(i, Math.Min(Chunk, values.Length - i))));
                tensors.Add(name, (shape, values));
            }
            long adamSteps = r.ReadInt64(), trainerSteps = r.ReadInt64();
            if (adamSteps < 0) throw new InvalidDataException($"Adam's step count is {adamSteps}; expected ≥ 0");
            if (trainerSteps < 0 || header is not null && trainerSteps != header.Step)
                throw new InvalidDataException($"the trainer's step count is {trainerSteps}; expected {(header is null ? "≥ 0" : $"the header's {header.Step}")}");
            int statistics = r.ReadInt32();
            if (statistics < 0 || statistics > Left() / 8) throw new InvalidDataException($"the estimator has {statistics} statistics; expected 0 to {Left() / 8}");
            var estimatorState = new double[statistics];
            for (int i = 0; i < statistics; i++) estimatorState[i] = r.ReadDouble();
            if (Left() != 0) throw new InvalidDataException($"{Left()} bytes follow the last field; expected none");
            return new Checkpoint(path, header, tensors, adamSteps, trainerSteps, estimatorState);
        }
        catch (InvalidDataException e) when (e.Message.StartsWith("checkpoint '", StringComparison.Ordinal)) { throw; }
        catch (Exception e) when (e is EndOfStreamException or JsonException or ArgumentException or InvalidDataException or NotSupportedException or FormatException)
        {
            throw new InvalidDataException($"checkpoint '{path}' is malformed: {e.Message}", e);
        }
    }

    /// <summary>A tensor name as <see cref="BinaryWriter.Write(string)"/> writes it: a 7-bit encoded length, then UTF-8.</summary>
    static string ReadName(BinaryReader r, long left)
    {
        const int longest = 1024;
        int length = r.Read7BitEncodedInt();
        if (length < 0 || length > Math.Min(longest, left))
            throw new InvalidDataException($"a tensor name is {length} bytes long; expected 0 to {Math.Min(longest, left)}");
        return Encoding.UTF8.GetString(r.ReadBytes(length));
    }

    /// <summary>Reads the whole file once, comparing the CRC-32 of all but its last 4 bytes with those bytes.</summary>
    static void VerifyCrc(FileStream file, string path)
    {
        file.Position = 0;
        long body = file.Length - 4;
        var buffer = new byte[BufferBytes];
        var crc = new System.IO.Hashing.Crc32();
        for (long done = 0; done < body;)
        {
            int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, body - done));
            if (n == 0) throw new InvalidDataException($"checkpoint '{path}' is damaged: it ended while being read.");
            crc.Append(buffer.AsSpan(0, n));
            done += n;
        }
        Span<byte> stored = stackalloc byte[4];
        file.ReadExactly(stored);
        if (crc.GetCurrentHashAsUInt32() != BitConverter.ToUInt32(stored))
            throw new InvalidDataException($"checkpoint '{path}' is damaged: its CRC-32 does not match its contents.");
    }

    /// <summary>An SBN of the checkpoint's spec, options and node family, with its parameters and centering means restored.</summary>
    public SigmoidBeliefNet CreateModel()
    {
        LayerSpec spec;
        try { spec = LayerSpec.Parse(Header.Spec); }
        catch (FormatException e) { throw new InvalidDataException($"checkpoint '{Path}': {e.Message}", e); }
        var model = new SigmoidBeliefNet(spec, Header.Options, EstimatorChoice.Parse(Header.Estimator).Family(Header.Nodes), new Rng(0));
        RestoreModel(model);
        return model;
    }

    /// <summary>A trainer of an SBN run in exactly the state the checkpoint was written in (parameters, Adam, estimator statistics, step).</summary>
    public Trainer<SigmoidBeliefNet> CreateTrainer(Rng rng)
    {
        var trainer = Trainer.Create(CreateModel(), EstimatorChoice.Parse(Header.Estimator).Create(Header.Samples), Header.Settings, rng);
        RestoreTrainer(trainer);
        return trainer;
    }

    /// <summary>Copies the checkpoint's parameters and state into <paramref name="model"/>, which must have the same names and shapes.</summary>
    public void RestoreModel(IStochasticModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var p in model.Parameters().Concat(model.BaselineParameters())) Copy("param/" + NameOf(p), p.Shape.ToArray(), p.Span);
        var state = model.State;
        for (int k = 0; k < state.Count; k++) Copy($"state/{k}", [state[k].Length], state[k]);
    }

    /// <summary>
    /// Puts the checkpoint's state into <paramref name="trainer"/> (of a model with the same parameter names and
    /// shapes, and the same kind of estimator): parameters, model state, Adam's moments and step, the estimator's
    /// statistics and the step count. Training on continues bit for bit as the saved trainer would have.
    /// </summary>
    public void RestoreTrainer<TModel>(Trainer<TModel> trainer) where TModel : IStochasticModel
    {
        ArgumentNullException.ThrowIfNull(trainer);
        RestoreModel(trainer.Model);
        var optimized = trainer.Optimizer.Parameters.Items;
        for (int i = 0; i < optimized.Count; i++)
        {
            var (m, v) = trainer.Optimizer.Moments(i);
            Copy("adam.m/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), m);
            Copy("adam.v/" + NameOf(optimized[i]), optimized[i].Shape.ToArray(), v);
        }
        trainer.Optimizer.RestoreStepCount(AdamSteps);
        if (trainer.Estimator is IStatefulEstimator<float> stateful) stateful.RestoreState(EstimatorState);
        else if (EstimatorState.Count > 0)
            throw new InvalidDataException($"checkpoint '{Path}' holds the statistics of a stateful estimator; '{trainer.Estimator.Name}' keeps none.");
        trainer.RestoreStepCount(TrainerSteps);
    }

    void Copy(string name, int[] shape, Span<float> destination)
    {
        if (!Tensors.TryGetValue(name, out var t))
            throw new InvalidDataException($"checkpoint '{Path}' has no tensor '{name}' for model {(_header is null ? "it is restored into" : _header.ModelDescription)}.");
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
        static SbnOptions Shape(SbnOptions o) => o with { BaselineUnits = 0 };
        static string Output(RelaxedOutput o) => o switch
        {
            RelaxedOutput.LogSimplex => "log-simplex value (--relaxed-output log)",
            RelaxedOutput.GaussianLogSoftmax => "log-softmax of IGR's Gaussian coordinates (--relaxed-output gaussian-log)",
            _ => "simplex point (--relaxed-output simplex)",
        };
        string Mismatch() => Header.ModelDescription != expected.ModelDescription
            ? $"checkpoint '{Path}' holds model {Header.ModelDescription}, not {expected.ModelDescription}."
            : $"checkpoint '{Path}' holds model {Header.Spec} with {Header.Options}, not {expected.Options}.";
        if (Header.Spec != expected.Spec || Shape(Header.Options) != Shape(expected.Options) || Header.Arity != expected.Arity || Header.Encoding != expected.Encoding
            || Header.IgrScale != expected.IgrScale)
            throw new InvalidDataException(Mismatch());
        if (Header.RelaxedOutput != expected.RelaxedOutput)
            throw new InvalidDataException($"checkpoint '{Path}' passes on the relaxed {Output(Header.RelaxedOutput)}, not the {Output(expected.RelaxedOutput)}.");
        if (Header.IgrPrior != expected.IgrPrior)
            throw new InvalidDataException($"checkpoint '{Path}' has IGR's uniform prior {IgrPriorText(Header.IgrPrior)}, not {IgrPriorText(expected.IgrPrior)}.");
        if (Header.Estimator != expected.Estimator || Header.Samples != expected.Samples)
            throw new InvalidDataException($"checkpoint '{Path}' was trained with {Header.Estimator} (m = {Header.Samples}), not {expected.Estimator} (m = {expected.Samples}).");
        if (Header.Options != expected.Options)
            throw new InvalidDataException(Mismatch());
        if (Header.DataDescription != expected.DataDescription)
            throw new InvalidDataException($"checkpoint '{Path}' was trained on {Header.DataDescription}, not {expected.DataDescription}.");
    }

    /// <summary>"fitted by Eq. 20", or "N(μ0 = …, σ0 = …)" for a given one.</summary>
    static string IgrPriorText(IgrPriorGaussian? prior) => prior is { } g
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"N(μ0 = {g.Location:R}, σ0 = {g.Scale:R})") : "fitted by Eq. 20";

    /// <summary>Passes writes through to a stream while keeping the CRC-32 of every byte written.</summary>
    sealed class CrcStream(Stream inner) : Stream
    {
        readonly System.IO.Hashing.Crc32 _crc = new();
        public uint Crc => _crc.GetCurrentHashAsUInt32();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _crc.Append(buffer);
            inner.Write(buffer);
        }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
