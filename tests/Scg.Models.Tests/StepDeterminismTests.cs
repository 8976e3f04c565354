using Scg.Autodiff;
using Scg.Autodiff.Kernels;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

/// <summary>
/// Seeded training steps give the same bits on the same instruction set, and optimizations of the engine do not
/// change them. Twenty steps of a small SBN with each estimator family are fingerprinted by the last objective,
/// the seeded L_50 bound afterwards and a hash of every parameter's bits.
/// <list type="bullet">
/// <item>The regression guard compares the fingerprint with bits recorded for this host's vector path
/// (<see cref="SimdInfo.Path"/>): Vector512, Vector256, Vector128 and scalar on x64 were recorded on one machine,
/// the lower three by forcing them with DOTNET_PreferredVectorBitWidth=256, DOTNET_EnableAVX2=0 and
/// DOTNET_EnableHWIntrinsic=0. A different rounding anywhere in the step changes the parameter hash.</item>
/// <item>Independently of any recording, two runs in one process agree bit for bit, and every vector path's result
/// agrees with every other's within float rounding (they compute the same arithmetic in other orders).</item>
/// </list>
/// </summary>
public class StepDeterminismTests
{
    const int Rows = 64, Features = 64, Steps = 20;

    public readonly record struct Fingerprint(long ObjectiveBits, long BoundBits, ulong ParameterHash)
    {
        public double Objective => BitConverter.Int64BitsToDouble(ObjectiveBits);
        public double Bound => BitConverter.Int64BitsToDouble(BoundBits);
        public override string ToString() =>
            $"(0x{ObjectiveBits:X16}, 0x{BoundBits:X16}, 0x{ParameterHash:X16}) = objective {Objective:R}, bound {Bound:R}";
    }

    /// <summary>Recorded fingerprints by estimator and vector path (see <see cref="SimdInfo.Path"/>).</summary>
    static readonly Dictionary<(string Estimator, string Path), Fingerprint> Golden = new()
    {
        { ("concrete", "X64-0"), new(unchecked((long)0xC03BF38A40000000), unchecked((long)0xC038789C5CF58375), 0x8B34829874C954E9) },
        { ("concrete", "X64-128"), new(unchecked((long)0xC03BF38A00000000), unchecked((long)0xC038789C58F58375), 0x78B0E4B3EBEB7F86) },
        { ("concrete", "X64-256-fma"), new(unchecked((long)0xC03BF38A20000000), unchecked((long)0xC038789C58F58375), 0x852B49238F375D12) },
        { ("concrete", "X64-512-fma"), new(unchecked((long)0xC03BF38A00000000), unchecked((long)0xC038789C55F58375), 0x852B49238F375D12) },
        { ("igr", "X64-0"), new(unchecked((long)0xC0437C5660000000), unchecked((long)0xC0387AAEA3F58375), 0x057B99FF284895AE) },
        { ("igr", "X64-128"), new(unchecked((long)0xC0437C5620000000), unchecked((long)0xC0387AAEA5F58375), 0x7D042EA49C781699) },
        { ("igr", "X64-256-fma"), new(unchecked((long)0xC0437C5640000000), unchecked((long)0xC0387AAEA7F58375), 0x76B30020DF6160F2) },
        { ("igr", "X64-512-fma"), new(unchecked((long)0xC0437C5640000000), unchecked((long)0xC0387AAEACF58375), 0x76B30020DF6160F2) },
        { ("nvil", "X64-0"), new(unchecked((long)0xC03A86CC00000000), unchecked((long)0xC038769FCDF58375), 0x4D198E20470D2F8C) },
        { ("nvil", "X64-128"), new(unchecked((long)0xC03A86CC80000000), unchecked((long)0xC038769FCEF58375), 0xB97935CEA1983A8F) },
        { ("nvil", "X64-256-fma"), new(unchecked((long)0xC03A86CC60000000), unchecked((long)0xC038769FCEF58375), 0xD12865B4646E6D16) },
        { ("nvil", "X64-512-fma"), new(unchecked((long)0xC03A86CC40000000), unchecked((long)0xC038769FC5F58375), 0x9958DCF61597908E) },
        { ("vimco", "X64-0"), new(unchecked((long)0xC039237980000000), unchecked((long)0xC038737AA7F58375), 0xA4154F5FA017D027) },
        { ("vimco", "X64-128"), new(unchecked((long)0xC0392379C0000000), unchecked((long)0xC038737A99F58375), 0x6F0970ADCD796190) },
        { ("vimco", "X64-256-fma"), new(unchecked((long)0xC0392379E0000000), unchecked((long)0xC038737A9AF58375), 0x5D11281B40BCE203) },
        { ("vimco", "X64-512-fma"), new(unchecked((long)0xC0392379C0000000), unchecked((long)0xC038737A9DF58375), 0x5AA78CBA16A31984) },
    };

    public static TheoryData<string> Estimators => new() { "concrete", "nvil", "vimco", "igr" };

    static float[] Data(ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[Rows * Features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() < 0.13f ? 1f : 0f;
        return x;
    }

    static (Fingerprint Fingerprint, float[] Parameters) Run(string estimator)
    {
        var choice = EstimatorChoice.Parse(estimator);
        var x = Data(1234);
        var baseRate = Enumerable.Repeat((float)x.Average(), Features).ToArray();
        var options = new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 16 : 0 };
        var model = new SigmoidBeliefNet(LayerSpec.Parse("20H~20H~64V"), options, TestModels.Family(estimator), new Rng(0), baseRate);
        var trainer = TestModels.Trainer(model, estimator, new TrainSettings { Samples = estimator == "vimco" ? 5 : 1, BatchSize = Rows }, new Rng(7));
        double objective = 0;
        for (int s = 0; s < Steps; s++) objective = trainer.Step(x);
        double bound = Evaluation.Bound(model, Data(4321).AsSpan(0, 16 * Features), 50, new Rng(99), trainer.StepCount);
        var parameters = model.Parameters().Concat(model.BaselineParameters()).SelectMany(p => p.Span.ToArray()).ToArray();
        return (new Fingerprint(BitConverter.DoubleToInt64Bits(objective), BitConverter.DoubleToInt64Bits(bound), Fnv1a(parameters)), parameters);
    }

    /// <summary>FNV-1a over the parameters' bits: stable across processes and machines, unlike <see cref="HashCode"/>.</summary>
    static ulong Fnv1a(float[] values)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (var v in values)
        {
            uint bits = BitConverter.SingleToUInt32Bits(v);
            for (int i = 0; i < 4; i++, bits >>= 8) h = (h ^ (bits & 0xFF)) * 0x100000001B3UL;
        }
        return h;
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void RegressionGuard_FingerprintMatchesTheBitsRecordedForThisVectorPath(string estimator)
    {
        var (actual, _) = Run(estimator);
        string record = $"{{ (\"{estimator}\", \"{SimdInfo.Path}\"), new(unchecked((long)0x{actual.ObjectiveBits:X16}), unchecked((long)0x{actual.BoundBits:X16}), 0x{actual.ParameterHash:X16}) }},";
        if (!Golden.TryGetValue((estimator, SimdInfo.Path), out var golden))
        {
            // No bits recorded for this vector path (e.g. Arm64): the cross-path check below still runs; say what to record.
            Console.WriteLine($"StepDeterminismTests: no golden bits for {estimator} on {SimdInfo.Path}; to record them: {record}");
            return;
        }
        Assert.True(actual == golden, $"{estimator} on {SimdInfo.Path}: got {actual}, golden {golden}. If the arithmetic was meant to change, record: {record}");
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void EveryVectorPathAgreesWithThisHostWithinFloatRounding(string estimator)
    {
        var (actual, _) = Run(estimator);
        var recorded = Golden.Where(g => g.Key.Estimator == estimator).ToList();
        Assert.True(recorded.Count >= 4, $"{estimator}: {recorded.Count} vector paths recorded, expected 4.");
        foreach (var (key, other) in recorded)
        {
            Assert.True(Math.Abs(actual.Objective - other.Objective) <= 1e-5 * Math.Abs(other.Objective),
                $"{estimator}: objective {actual.Objective:R} on {SimdInfo.Path}, {other.Objective:R} on {key.Path}");
            Assert.True(Math.Abs(actual.Bound - other.Bound) <= 1e-5 * Math.Abs(other.Bound),
                $"{estimator}: bound {actual.Bound:R} on {SimdInfo.Path}, {other.Bound:R} on {key.Path}");
        }
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void TwoSeededRunsAgreeBitForBit(string estimator)
    {
        var a = Run(estimator);
        var b = Run(estimator);
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal(a.Parameters.Length, b.Parameters.Length);
        for (int i = 0; i < a.Parameters.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a.Parameters[i]) == BitConverter.SingleToInt32Bits(b.Parameters[i]),
                $"{estimator}, parameter {i}: {a.Parameters[i]:R} vs {b.Parameters[i]:R}");
    }
}
