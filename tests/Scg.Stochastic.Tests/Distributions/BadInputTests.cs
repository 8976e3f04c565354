using Scg.Autodiff;
using Scg.Stochastic.Distributions;

namespace Scg.Stochastic.Tests.Distributions;

public class BadInputTests
{
    static Tensor<double> T(params double[] values) => Tensor<double>.FromDoubles(values, values.Length);

    static Tensor<double> T2(int rows, int columns, params double[] values) => Tensor<double>.FromDoubles(values, rows, columns);

    /// <summary>Asserts an ArgumentException (or subtype) whose message contains every fragment.</summary>
    static void Throws(Action action, params string[] fragments)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(action);
        foreach (var fragment in fragments) Assert.Contains(fragment, ex.Message);
    }

    public static TheoryData<double> BadTemperatures => [0.0, -0.5, double.NaN, double.PositiveInfinity];

    [Theory]
    [MemberData(nameof(BadTemperatures))]
    public void TemperaturesMustBePositiveAndFinite(double temperature)
    {
        string got = $"got {temperature}";
        Throws(() => new LogitBinaryConcrete<double>(T(0.1), temperature), "LogitBinaryConcrete", "temperature", "positive finite", got);
        Throws(() => new BinaryConcrete<double>(T(0.1), temperature), "BinaryConcrete", "temperature", got);
        Throws(() => new ExpConcrete<double>(T(0.1, 0.2), temperature), "ExpConcrete", "temperature", got);
        Throws(() => new Concrete<double>(T(0.1, 0.2), temperature), "Concrete", "temperature", got);
        Throws(() => new Logistic<double>(T(0.1), temperature), "Logistic", "lambda", got);
        Throws(() => new Igr<double>(T(0.1), T(1.0), temperature), "IGR", "temperature", got);
        Throws(() => new Igr<double>(T(0.1), T(1.0), 0.5, IgrMap.SoftmaxPlusPlus, delta: temperature), "IGR", "delta", got);
        Throws(() => new CountableIgr<double>(T(0.1), T(1.0), temperature, 0.9), "CountableIgr", "temperature", got);

        var y = new ExpConcrete<double>(T(0.1, 0.2), 0.5).Sample(new Rng(1));
        Throws(() => new ExpConcrete<double>(T(0.1, 0.2), 0.5).LogProb(y, temperature), "ExpConcrete", "temperature", got);
        Throws(() => new LogitBinaryConcrete<double>(T(0.1), 0.5).LogProb(T(0.3), temperature), "LogitBinaryConcrete", "temperature", got);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void LogitsMustBeFinite(double bad)
    {
        string got = $"element 1 of the tensor of shape [3] is {bad}";
        Throws(() => new Bernoulli<double>(T(0, bad, 1)), "Bernoulli", "logits", "must be finite", got);
        Throws(() => new Categorical<double>(T(0, bad, 1)), "Categorical", "logits", got);
        Throws(() => new LogitBinaryConcrete<double>(T(0, bad, 1), 0.5), "LogitBinaryConcrete", "logits", got);
        Throws(() => new BinaryConcrete<double>(T(0, bad, 1), 0.5), "BinaryConcrete", "logits", got);
        Throws(() => new ExpConcrete<double>(T(0, bad, 1), 0.5), "ExpConcrete", "logits", got);
        Throws(() => new Concrete<double>(T(0, bad, 1), 0.5), "Concrete", "logits", got);
        Throws(() => new Igr<double>(T(0, bad, 1), T(1, 1, 1), 0.5), "IGR", "location", got);
        Throws(() => new Gumbel<double>(T(0, bad, 1), T(1, 1, 1)), "Gumbel", "location", got);
    }

    [Fact]
    public void ProbabilitiesMustBeProbabilities()
    {
        Throws(() => Bernoulli<double>.FromProbabilities(T(0.2, 1.5)), "Bernoulli", "probabilities", "(0,1)", "is 1.5");
        Throws(() => Bernoulli<double>.FromProbabilities(T(-0.1)), "Bernoulli", "probabilities", "is -0.1");
        Throws(() => Bernoulli<double>.FromProbabilities(T(1.0)), "Bernoulli", "infinite logits", "is 1");
        Throws(() => Categorical<double>.FromProbabilities(T(0.5, -0.2, 0.7)), "Categorical", "probabilities", "open simplex", "row 0, class 1 is -0.2");
        Throws(() => Categorical<double>.FromProbabilities(T(0.5, 0.4, 0.2)), "Categorical", "simplex", "sums to 1", "row 0 sums to 1.1");
        Throws(() => Igr.FitToDiscrete([0.5, 0.7], 0.5, new Rng(1)), "Igr.FitToDiscrete", "sum to 1", "got 1.2");
        Throws(() => Igr.FitToDiscrete([1.5, -0.5], 0.5, new Rng(1)), "Igr.FitToDiscrete", "prior[0] is 1.5");
    }

    [Fact]
    public void ScalesMustBePositive()
    {
        Throws(() => new Normal<double>(T(0, 0), T(1, 0)), "Normal", "scale", "positive", "element 1", "is 0");
        Throws(() => new Gumbel<double>(T(0, 0), T(-1, 1)), "Gumbel", "scale", "element 0", "is -1");
        Throws(() => new Igr<double>(T(0, 0), T(1, double.NaN), 0.5), "IGR", "scale", "is NaN");
        Throws(() => new CountableIgr<double>(T(0, 0), T(1, 1), 0.5, 1.0), "CountableIgr", "precision", "(0,1)", "got 1");
    }

    [Fact]
    public void ValuesOutsideTheSupportAreRejected()
    {
        Throws(() => new Bernoulli<double>(T(0, 1)).LogProb(T(1, 0.5)), "Bernoulli", "value", "0 or 1", "element 1", "is 0.5");
        var categorical = new Categorical<double>(T2(2, 3, 0, 1, 2, 0, 0, 0));
        Throws(() => categorical.LogProb(T2(2, 3, 0, 1, 0, 0, 0.5, 0.5)), "Categorical", "one-hot", "row 1, class 1 is 0.5");
        Throws(() => categorical.LogProb(T2(2, 3, 0, 1, 0, 1, 1, 0)), "Categorical", "one-hot", "row 1 has 2 ones");
        Throws(() => categorical.LogProbIndices([0, 3]), "Categorical", "indices[1] is 3", "[0, 3)");
        Throws(() => new BinaryConcrete<double>(T(0, 1), 0.5).LogProb(T(0.3, 1.0)), "BinaryConcrete", "value", "(0,1)", "element 1", "is 1");
        var concrete = new Concrete<double>(T2(1, 3, 0, 1, 2), 0.5);
        Throws(() => concrete.LogProb(T2(1, 3, 0.2, 0.3, 0.6)), "Concrete", "simplex", "row 0 sums to 1.1");
        Throws(() => concrete.LogProb(T2(1, 3, 0.0, 0.4, 0.6)), "Concrete", "open simplex", "class 0 is 0", "ExpConcrete");
        var expConcrete = new ExpConcrete<double>(T2(1, 3, 0, 1, 2), 0.5);
        Throws(() => expConcrete.LogProb(T2(1, 3, -1, -2, -0.5)), "ExpConcrete", "log-simplex", "log-sum-exp", "row 0 has log-sum-exp");
        Throws(() => expConcrete.LogProb(T2(1, 3, double.NegativeInfinity, 0, -50)), "ExpConcrete", "value", "must be finite", $"is {double.NegativeInfinity}");
        Throws(() => new LogitBinaryConcrete<double>(T(0), 0.5).LogProb(T(double.NaN)), "LogitBinaryConcrete", "value", "NaN");
        // With δ = 0.1, z_k < z_K/δ means a negative stick weight: outside the image of IGR-SB's g.
        var igr = new Igr<double>(T(0, 0), T(1, 1), 0.5, IgrMap.StickBreaking);
        Throws(() => igr.LogProb(T(0.02, 0.48, 0.5)), "IGR-SB", "outside the image", "stick weight 0");
        Throws(() => new Igr<double>(T(0, 0), T(1, 1), 0.5).LogProb(T(0.5, 0.5, 0.0)), "IGR", "open simplex", "class 2 is 0");
    }

    [Fact]
    public void MismatchedShapesAreRejected()
    {
        Throws(() => new Bernoulli<double>(T(0, 1, 2)).LogProb(T(0, 1)), "Bernoulli", "value has shape [2], expected [3]");
        Throws(() => new Categorical<double>(T2(2, 3, 0, 1, 2, 0, 0, 0)).LogProb(T2(3, 2, 1, 0, 1, 0, 1, 0)), "Categorical", "value has shape [3, 2], expected [2, 3]");
        Throws(() => new Categorical<double>(T2(2, 3, 0, 1, 2, 0, 0, 0)).LogProbIndices([0]), "Categorical", "1 entries", "(2, batch shape [2])");
        Throws(() => new ExpConcrete<double>(T2(1, 3, 0, 1, 2), 0.5).LogProb(T(0, -1, -2)), "ExpConcrete", "value has shape [3], expected [1, 3]");
        Throws(() => new LogitBinaryConcrete<double>(T(0, 1), 0.5).LogProb(T(0)), "LogitBinaryConcrete", "value has shape [1], expected [2]");
        Throws(() => new Normal<double>(T(0, 1), T(1, 1, 1)), "Normal", "scale has shape [3], expected [2]");
        Throws(() => new Normal<double>(T(0, 1), T(1, 1)).LogProb(T(0, 1, 2)), "Normal", "value has shape [3], expected [2]");
        Throws(() => new Igr<double>(T(0, 1), T(1, 1), 0.5).LogProb(T(0.5, 0.5)), "IGR", "value has shape [2], expected [3]");
        Throws(() => new Categorical<double>(Tensor<double>.Scalar(1.0)), "Categorical", "rank at least 1", "shape []");
        Throws(() => Kl.Divergence(new Bernoulli<double>(T(0, 1)), new Bernoulli<double>(T(0, 1, 2))), "Kl.Divergence(Bernoulli, Bernoulli)", "[2] vs [3]");
        Throws(() => Kl.Divergence(new Categorical<double>(T(0, 1)), new Categorical<double>(T(0, 1, 2))), "Kl.Divergence(Categorical, Categorical)", "event shapes", "[2] vs [3]");
    }
}
