using Scg.Autodiff;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

/// <summary>
/// Guards optimizations of the engine (issue 5): seeded concrete training steps on a small SBN must give the same
/// bound to the last bit as when the golden values were recorded, and two runs in one process must agree bit for bit
/// (bound and every parameter). If an optimization changes these numbers, it changed the arithmetic.
/// </summary>
public class StepDeterminismTests
{
    const int Rows = 64, Features = 64, Steps = 20;

    // Recorded with the engine of commit aed7a72 (plus the working tree of the time), before any issue 5 optimization (see the bits in the failure message).
    // Re-recorded once, when softplus, log1p and logistic sampling moved from scalar to vector exp/log: those differ from
    // the scalar functions in the last bit for some inputs. Every other optimization so far (Adam's vector kernel,
    // centering via Reduce.Sum) left these bits unchanged.
    const long GoldenObjectiveBits = unchecked((long)0xC03BF38A00000000);  // -27.951324462890625: objective returned by step 20
    const long GoldenBoundBits = unchecked((long)0xC038789C68F58375);      // -24.471136627139874: Evaluation.Bound (k = 50, seeded) after step 20

    static float[] Data(ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[Rows * Features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() < 0.13f ? 1f : 0f;
        return x;
    }

    static (double Objective, double Bound, float[] Parameters) Run()
    {
        var x = Data(1234);
        var baseRate = Enumerable.Repeat((float)x.Average(), Features).ToArray();
        var model = new SigmoidBeliefNet(LayerSpec.Parse("20H~20H~64V"), new SbnOptions(), new Rng(0), baseRate);
        var trainer = new Trainer(model, EstimatorChoice.Parse("concrete"), new TrainSettings { Samples = 1, BatchSize = Rows }, new Rng(7));
        double objective = 0;
        for (int s = 0; s < Steps; s++) objective = trainer.Step(x);
        double bound = Evaluation.Bound(model, Data(4321).AsSpan(0, 16 * Features), Features, 50, new Rng(99));
        var parameters = model.Parameters().SelectMany(p => p.Span.ToArray()).ToArray();
        return (objective, bound, parameters);
    }

    [Fact]
    public void BoundAfterSeededConcreteStepsMatchesGoldenBits()
    {
        var (objective, bound, _) = Run();
        long o = BitConverter.DoubleToInt64Bits(objective), b = BitConverter.DoubleToInt64Bits(bound);
        Assert.True(o == GoldenObjectiveBits && b == GoldenBoundBits,
            $"objective {objective:R} (bits 0x{o:X16}), bound {bound:R} (bits 0x{b:X16}); golden 0x{GoldenObjectiveBits:X16} / 0x{GoldenBoundBits:X16}");
    }

    [Fact]
    public void TwoSeededRunsAgreeBitForBit()
    {
        var a = Run();
        var b = Run();
        Assert.Equal(BitConverter.DoubleToInt64Bits(a.Objective), BitConverter.DoubleToInt64Bits(b.Objective));
        Assert.Equal(BitConverter.DoubleToInt64Bits(a.Bound), BitConverter.DoubleToInt64Bits(b.Bound));
        Assert.Equal(a.Parameters.Length, b.Parameters.Length);
        for (int i = 0; i < a.Parameters.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a.Parameters[i]) == BitConverter.SingleToInt32Bits(b.Parameters[i]),
                $"parameter {i}: {a.Parameters[i]:R} vs {b.Parameters[i]:R}");
    }
}
