using Scg.Autodiff;
using Scg.Stochastic.Estimators;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>
/// The surrogates at fixed inputs against direct double formulas: the multi-sample bound, VIMCO's learning signals,
/// the gradients one Backward() delivers to log-weights and scores, the running statistics, and bad input.
/// </summary>
public class SurrogateTests
{
    /// <summary>log-weights [m = 4, batch = 3], column b holding very different magnitudes.</summary>
    static readonly double[] LogW =
    [
        -1000, 3.5, -2.0,
        -1001, 1.0, -2.5,
        -1000.5, -40, 0.3,
        -2000, 2.2, -1.1,
    ];
    const int M = 4, Batch = 3;

    static double[] Column(double[] values, int b, int m, int batch) => Enumerable.Range(0, m).Select(i => values[i * batch + b]).ToArray();

    static double LogMeanExp(double[] v)
    {
        double max = v.Max();
        return max + Math.Log(v.Sum(x => Math.Exp(x - max)) / v.Length);
    }

    static Tensor<double> Leaf(double[] values, params int[] dims) => Tensor<double>.FromDoubles(values, dims).AsParameter();

    [Fact]
    public void MultiSampleBoundIsStableForHugeNegativeAndPositiveLogWeights()
    {
        var bound = MultiSampleBound.PerDataPoint(Tensor<double>.FromDoubles(LogW, M, Batch)).ToDoubles();
        for (int b = 0; b < Batch; b++)
            Assert.Equal(LogMeanExp(Column(LogW, b, M, Batch)), bound[b], 1e-10);
        Assert.Equal(-1000 + Math.Log((1 + Math.Exp(-1) + Math.Exp(-0.5)) / 4), bound[0], 1e-10);

        foreach (double level in new[] { -1000.0, 1000.0, -1e30 })
        {
            var equal = MultiSampleBound.PerDataPoint(Tensor<double>.Full(new Shape(5, 2), level)).ToDoubles();
            Assert.All(equal, v => Assert.Equal(level, v, Math.Abs(level) * 1e-15));
            var single = MultiSampleBound.PerDataPoint(Tensor<float>.Full(new Shape(5, 2), (float)level)).ToDoubles();
            Assert.All(single, v => Assert.True(double.IsFinite(v) && Math.Abs(v - (float)level) <= Math.Abs(level) * 1e-6, $"float L_5 = {v}"));
        }
    }

    [Fact]
    public void MultiSampleBoundGradientIsTheNormalizedImportanceWeights()
    {
        var logW = Leaf(LogW, M, Batch);
        MultiSampleBound.PerDataPoint(logW).Sum().Backward();
        var g = logW.Grad!.ToDoubles();
        for (int b = 0; b < Batch; b++)
        {
            var column = Column(LogW, b, M, Batch);
            double max = column.Max(), total = column.Sum(x => Math.Exp(x - max));
            for (int i = 0; i < M; i++) Assert.Equal(Math.Exp(column[i] - max) / total, g[i * Batch + b], 1e-12);
        }
    }

    /// <summary>ℓ_j = L̂ − log((Σ_{i≠j} w_i + exp(mean_{i≠j} log w_i))/m), written out directly in double.</summary>
    [Fact]
    public void VimcoLearningSignalsMatchADirectDoubleFormula()
    {
        var logW = Tensor<double>.FromDoubles(LogW, M, Batch);
        var bound = MultiSampleBound.PerDataPoint(logW);
        var signals = VimcoEstimator<double>.LearningSignals(logW.ReadOnlySpan, bound.ReadOnlySpan, M, Batch).ToDoubles();
        for (int b = 0; b < Batch; b++)
        {
            var v = Column(LogW, b, M, Batch);
            double full = LogMeanExp(v);
            for (int j = 0; j < M; j++)
            {
                var others = v.Where((_, i) => i != j).ToArray();
                var replaced = v.Select((x, i) => i == j ? others.Average() : x).ToArray();
                double expected = full - LogMeanExp(replaced);
                Assert.True(double.IsFinite(signals[j * Batch + b]));
                Assert.Equal(expected, signals[j * Batch + b], 1e-10);
            }
        }
        // A sample far below the others changes the bound little, its replacement by the others' geometric mean raises it:
        // its signal is negative; the dominant sample's signal is positive.
        Assert.True(signals[3 * Batch + 0] < 0 && signals[0 * Batch + 0] > 0);
    }

    [Fact]
    public void VimcoLearningSignalsAreShiftInvariantAndFiniteAtMinusAThousand()
    {
        double[] small = [0.3, -1.2, 0.8, -0.1, 0.05, -2.4];
        var shifted = small.Select(x => x - 1000).ToArray();
        double[] Signals(double[] v)
        {
            var t = Tensor<double>.FromDoubles(v, 3, 2);
            return VimcoEstimator<double>.LearningSignals(t.ReadOnlySpan, MultiSampleBound.PerDataPoint(t).ReadOnlySpan, 3, 2).ToDoubles();
        }
        var a = Signals(small);
        var b = Signals(shifted);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-9);
    }

    /// <summary>
    /// One Backward() of VIMCO's loss gives, per data point b (averaged over the batch): ∂/∂score_jb = ℓ_jb and
    /// ∂/∂log w_jb = w̃_jb (the pathwise part); its reported objective is L_m and the loss is −L_m in value.
    /// </summary>
    [Fact]
    public void VimcoSurrogateDeliversSignalsToScoresAndImportanceWeightsToLogWeights()
    {
        var logW = Leaf(LogW, M, Batch);
        var score = Leaf(Enumerable.Range(0, M * Batch).Select(i => -0.1 * i).ToArray(), M, Batch);
        var surrogate = new VimcoEstimator<double>().Build(logW, score);
        Assert.Null(surrogate.BaselineLoss);
        var bound = Enumerable.Range(0, Batch).Select(b => LogMeanExp(Column(LogW, b, M, Batch))).ToArray();
        Assert.Equal(bound.Average(), surrogate.Objective.Item(), 1e-10);
        Assert.Equal(-bound.Average(), surrogate.Loss.Item(), 1e-10);
        surrogate.Loss.Backward();
        var signals = VimcoEstimator<double>.LearningSignals(LogW.Select(x => x).ToArray(), bound, M, Batch).ToDoubles();
        var gScore = score.Grad!.ToDoubles();
        var gLogW = logW.Grad!.ToDoubles();
        for (int b = 0; b < Batch; b++)
        {
            var column = Column(LogW, b, M, Batch);
            double max = column.Max(), total = column.Sum(x => Math.Exp(x - max));
            for (int j = 0; j < M; j++)
            {
                Assert.Equal(signals[j * Batch + b] / Batch, -gScore[j * Batch + b], 1e-10);
                Assert.Equal(Math.Exp(column[j] - max) / total / Batch, -gLogW[j * Batch + b], 1e-10);
            }
        }
    }

    /// <summary>Plain REINFORCE with m samples: every sample's score gets the data point's bound L̂_b as its signal.</summary>
    [Fact]
    public void ReinforceSurrogateUsesTheBoundAsTheSignal()
    {
        var logW = Leaf(LogW, M, Batch);
        var score = Leaf(new double[M * Batch], M, Batch);
        var surrogate = new ReinforceEstimator<double>(BaselineKind.None).Build(logW, score);
        surrogate.Loss.Backward();
        var g = score.Grad!.ToDoubles();
        for (int b = 0; b < Batch; b++)
            for (int j = 0; j < M; j++)
                Assert.Equal(LogMeanExp(Column(LogW, b, M, Batch)) / Batch, -g[j * Batch + b], 1e-10);
    }

    /// <summary>
    /// The moving average c used in a batch's signal comes from earlier batches only (c = 0 on the first batch, which
    /// then initializes it), so the baseline never depends on the samples it multiplies.
    /// </summary>
    [Fact]
    public void MovingAverageBaselineUsesEarlierBatchesOnly()
    {
        var estimator = new ReinforceEstimator<double>(BaselineKind.MovingAverage, decay: 0.5);
        double[][] batches = [[2, 4], [1, 5], [-3, 0]];
        double c = 0;
        for (int t = 0; t < batches.Length; t++)
        {
            var logW = Leaf(batches[t], 1, 2);
            var score = Leaf([0, 0], 1, 2);
            var surrogate = estimator.Build(logW, score);
            Assert.Equal(batches[t].Average(), surrogate.Objective.Item(), 1e-12);
            surrogate.Loss.Backward();
            var g = score.Grad!.ToDoubles();
            for (int b = 0; b < 2; b++) Assert.Equal((batches[t][b] - c) / 2, -g[b], 1e-12);
            c = t == 0 ? batches[t].Average() : 0.5 * c + 0.5 * batches[t].Average();
            Assert.Equal(c, estimator.RunningMean, 1e-12);
        }
    }

    /// <summary>
    /// NVIL: signal (L̂ − c − b(x)) / max(1, √v) with c and v from earlier batches; b(x) is trained on (L̂ − c − b(x))²,
    /// and no gradient of the signal reaches b.
    /// </summary>
    [Fact]
    public void NvilSignalBaselineLossAndRunningVarianceMatchHandComputation()
    {
        var estimator = new ReinforceEstimator<double>(BaselineKind.Nvil, decay: 0.5);
        double[][] batches = [[2, 6], [1, 9], [-3, 0]];
        double[] b = [0.5, -0.25];
        double c = 0, v = 1;
        for (int t = 0; t < batches.Length; t++)
        {
            var logW = Leaf(batches[t], 1, 2);
            var score = Leaf([0, 0], 1, 2);
            var baseline = Leaf(b, 2);
            var surrogate = estimator.Build(logW, score, baseline);
            var centred = batches[t].Select((x, i) => x - c - b[i]).ToArray();
            Assert.Equal(centred.Select(r => r * r).Average(), surrogate.BaselineLoss!.Item(), 1e-12);
            surrogate.TotalLoss.Backward();
            var g = score.Grad!.ToDoubles();
            var gb = baseline.Grad!.ToDoubles();
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(centred[i] / Math.Max(1, Math.Sqrt(v)) / 2, -g[i], 1e-12);
                Assert.Equal(-centred[i], gb[i], 1e-12);   // ∂/∂b of mean((s − b)²) = −(s − b) with batch 2
            }
            double mean = centred.Average();
            v = 0.5 * v + 0.5 * centred.Select(r => (r - mean) * (r - mean)).Average();
            c = t == 0 ? batches[t].Average() : 0.5 * c + 0.5 * batches[t].Average();
            Assert.Equal(c, estimator.RunningMean, 1e-12);
            Assert.Equal(v, estimator.RunningVariance, 1e-12);
        }
    }

    [Fact]
    public void EstimatorsStayFiniteAtLogWeightsOfMinusAThousand()
    {
        var levels = Enumerable.Range(0, 12).Select(i => -1000 - 0.7 * i).ToArray();
        IEstimator<float>[] estimators =
        [
            new PathwiseEstimator<float>(), new ReinforceEstimator<float>(BaselineKind.None),
            new ReinforceEstimator<float>(BaselineKind.MovingAverage), new ReinforceEstimator<float>(BaselineKind.Nvil), new VimcoEstimator<float>(),
        ];
        foreach (var estimator in estimators)
        {
            var logW = Tensor<float>.FromDoubles(levels, 4, 3).AsParameter();
            var score = Tensor<float>.FromDoubles(levels.Select(x => -0.5).ToArray(), 4, 3).AsParameter();
            var baseline = Tensor<float>.Zeros(3).AsParameter();
            var surrogate = estimator.Build(logW, estimator.UsesScoreFunction ? score : null, baseline);
            Assert.True(float.IsFinite(surrogate.Objective.Item()) && surrogate.Objective.Item() < -999, $"{estimator.Name}: L_4 = {surrogate.Objective.Item()}");
            surrogate.TotalLoss.Backward();
            logW.Grad!.EnsureFinite($"{estimator.Name} ∂/∂log w");
            score.Grad?.EnsureFinite($"{estimator.Name} ∂/∂score");
        }
    }

    // ---- bad input ------------------------------------------------------------------------------

    [Fact]
    public void VimcoRejectsFewerThanTwoSamples()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new VimcoEstimator<double>().Build(Tensor<double>.Zeros(1, 4), Tensor<double>.Zeros(1, 4)));
        Assert.Contains("vimco", e.Message);
        Assert.Contains("m ≥ 2", e.Message);
        Assert.Contains("m = 1", e.Message);
    }

    [Fact]
    public void LogWeightsMustBeSamplesByBatch()
    {
        IEstimator<double>[] estimators = [new PathwiseEstimator<double>(), new ReinforceEstimator<double>(BaselineKind.None), new VimcoEstimator<double>()];
        foreach (var estimator in estimators)
        {
            var e = Assert.Throws<ShapeMismatchException>(() => estimator.Build(Tensor<double>.Zeros(4), null));
            Assert.Contains("[m ≥ 1 samples, batch]", e.Message);
            Assert.Throws<ShapeMismatchException>(() => estimator.Build(Tensor<double>.Zeros(2, 3, 4), null));
        }
    }

    [Fact]
    public void ScoreShapeMustMatchTheLogWeights()
    {
        var logW = Tensor<double>.Zeros(3, 2);
        var e1 = Assert.Throws<ShapeMismatchException>(() => new ReinforceEstimator<double>(BaselineKind.None).Build(logW, Tensor<double>.Zeros(2, 3)));
        Assert.Contains("reinforce", e1.Message);
        Assert.Contains("score", e1.Message);
        var e2 = Assert.Throws<ShapeMismatchException>(() => new VimcoEstimator<double>().Build(logW, Tensor<double>.Zeros(3)));
        Assert.Contains("vimco", e2.Message);
        Assert.Contains("score", e2.Message);
    }

    [Fact]
    public void NvilNeedsABaselineOfShapeBatch()
    {
        var nvil = new ReinforceEstimator<double>(BaselineKind.Nvil);
        var logW = Tensor<double>.Zeros(1, 3);
        var score = Tensor<double>.Zeros(1, 3);
        var missing = Assert.Throws<ArgumentNullException>(() => nvil.Build(logW, score));
        Assert.Equal("baseline", missing.ParamName);
        Assert.Contains("nvil", missing.Message);
        var wrong = Assert.Throws<ShapeMismatchException>(() => nvil.Build(logW, score, Tensor<double>.Zeros(1, 3)));
        Assert.Contains("baseline", wrong.Message);
        Assert.Contains("[3]", wrong.Message);
        Assert.Throws<ShapeMismatchException>(() => nvil.Build(logW, score, Tensor<double>.Zeros(2)));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void DecayMustLieInTheUnitInterval(double decay)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ReinforceEstimator<double>(BaselineKind.Nvil, decay));
        Assert.Equal("decay", e.ParamName);
        Assert.Contains("[0, 1)", e.Message);
    }

    [Fact]
    public void EstimatorsAreNamedAndSayWhetherTheyScore()
    {
        Assert.Equal("reinforce", new ReinforceEstimator<double>(BaselineKind.None).Name);
        Assert.Equal("reinforce-ema", new ReinforceEstimator<double>(BaselineKind.MovingAverage).Name);
        Assert.Equal("nvil", new ReinforceEstimator<double>(BaselineKind.Nvil).Name);
        Assert.Equal("vimco", new VimcoEstimator<double>().Name);
        Assert.True(new VimcoEstimator<double>().UsesScoreFunction);
        Assert.False(new PathwiseEstimator<double>().UsesScoreFunction);
    }
}
