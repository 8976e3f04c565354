using Scg.Autodiff;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>IGR's uniform prior with its Gaussian given (<see cref="IgrNodes{T}.UniformPriorGaussian"/>) instead of fitted by Eq. 20.</summary>
public class IgrPriorTests
{
    const int Arity = 10, Units = 3, D = Arity - 1;

    static IgrNodes<double> Family(double tau, IgrPriorGaussian? prior = null) =>
        new(new NodeLayout(Arity, NodeEncoding.OneHot), TemperatureSchedule.Constant(tau)) { PriorFitTemperature = tau, UniformPriorGaussian = prior };

    [Fact]
    public void TheGivenGaussianIsEveryCoordinatesPriorAtEveryTemperatureWhereTheFitDependsOnIt()
    {
        var given = new IgrPriorGaussian(-2.0, 1.5);
        foreach (double tau in (double[])[0.5, 0.1])
        {
            var p = Family(tau, given).UniformPriorParameters(Units).ToDoubles();
            Assert.Equal(2 * Units * D, p.Length);
            Assert.All(p[..(Units * D)], v => Assert.Equal(-2.0, v));
            Assert.All(p[(Units * D)..], v => Assert.Equal(Math.Log(1.5), v, 15));
        }
        // the fit (the default) moves with τ: at 0.5 and 0.1 its means differ by more than 0.1
        var fitHigh = Family(0.5).UniformPriorParameters(Units).ToDoubles();
        var fitLow = Family(0.1).UniformPriorParameters(Units).ToDoubles();
        Assert.True(Math.Abs(fitHigh[..D].Average() - fitLow[..D].Average()) > 0.1, $"{fitHigh[..D].Average()} vs {fitLow[..D].Average()}");
    }

    [Fact]
    public void ThePaperCodesPriorIsLogOneEighthAndEMinusOne()
    {
        Assert.Equal(Math.Log(1.0 / 8), IgrPriorGaussian.PaperCode.Location, 15);
        Assert.Equal(Math.E - 1, IgrPriorGaussian.PaperCode.Scale, 15);
    }

    /// <summary>The closed-form KL to the given prior is Σ log(σ0/σ) + (σ² + (μ − μ0)²) / (2σ0²) − ½ over the coordinates.</summary>
    [Fact]
    public void TheClosedFormKlIsToTheGivenGaussian()
    {
        const int rows = 4;
        var prior = new IgrPriorGaussian(-1.2, 0.7);
        var family = Family(0.3, prior);
        var rng = new Rng(11);
        int width = (int)family.ParameterWidth(Units);
        var values = new double[rows * width];
        for (int i = 0; i < values.Length; i++) values[i] = 2 * rng.NextDouble() - 1;
        var parameters = Tensor<double>.FromDoubles(values, rows, width);
        var node = family.Sample(parameters, new Rng(3), step: 0);
        double kl = node.KlToPrior(family.UniformPriorParameters(Units))!.Sum().ToDoubles()[0];

        double expected = 0;
        int half = Units * D;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < half; j++)
            {
                double mu = values[r * width + j], sigma = Math.Exp(values[r * width + half + j]);
                expected += Math.Log(prior.Scale / sigma) + (sigma * sigma + (mu - prior.Location) * (mu - prior.Location)) / (2 * prior.Scale * prior.Scale) - 0.5;
            }
        Assert.Equal(expected, kl, 1e-10);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.0, -1.0)]
    [InlineData(0.0, double.PositiveInfinity)]
    [InlineData(double.NaN, 1.0)]
    [InlineData(double.NegativeInfinity, 1.0)]
    public void AGaussianWithoutAFiniteMeanAndAPositiveFiniteScaleIsRefused(double location, double scale)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Family(0.5, new IgrPriorGaussian(location, scale)));
        Assert.Contains("finite σ0 > 0", e.Message);
    }
}
