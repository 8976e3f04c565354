using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// IGR-SB with countably infinite support (IGR paper §4.2), truncated at precision ρ (Eq. 25). Location and scale
/// [..., M] hold the first M coordinates of the infinite parameter sequences; a draw uses the first K sticks, K being the
/// smallest number whose stick weights exceed ρ: Σ_{k&lt;K} w_k ≤ ρ &lt; Σ_{k≤K} w_k. Eq. 25 is written on g, but an
/// infinite softmax++ has no finite denominator, so the cut is on the stick weights w = SB(σ(y)), as in the authors'
/// code. K is the largest cut over the batch, so every row meets the precision.
/// </summary>
public sealed class CountableIgr<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    const string Name = "CountableIgr";

    /// <summary>IGR-SB of Gaussian coordinates N(location, scale²) [..., M] at temperature τ, cut at precision ρ in (0, 1), with softmax++'s δ &gt; 0.</summary>
    public CountableIgr(Tensor<T> location, Tensor<T> scale, double temperature, double precision, double delta = Igr.PaperDelta)
    {
        Gaussian = new Normal<T>(location, scale, Name);
        Temperature = Check.Temperature(temperature, Name);
        Delta = Check.Temperature(delta, Name, nameof(delta));
        if (!(precision > 0 && precision < 1))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, $"{Name}: precision ρ must lie in (0,1), got {precision}.");
        Precision = precision;
    }

    /// <summary>The Gaussian of the first M coordinates of y.</summary>
    public Normal<T> Gaussian { get; }
    /// <summary>τ &gt; 0 of the stick-breaking map.</summary>
    public double Temperature { get; }
    /// <summary>δ &gt; 0 of softmax++.</summary>
    public double Delta { get; }

    /// <summary>ρ of Eq. 25.</summary>
    public double Precision { get; }

    /// <summary>A draw cut at K sticks: <see cref="Value"/> has K + 1 categories (the last is softmax++'s δ coordinate) and
    /// <see cref="Prefix"/> is the finite IGR-SB of the first K coordinates, which gives the draw's density and KLs.</summary>
    public sealed record Draw(Tensor<T> Value, int Sticks, Igr<T> Prefix);

    /// <summary>y = μ + σε over the M coordinates, cut at K by Eq. 25; only the first K coordinates of μ and σ get gradients.</summary>
    public Draw RSample(Rng rng)
    {
        var y = Gaussian.RSample(rng);
        int sticks = Cut(y);
        var prefix = new Igr<T>(Gaussian.Location.Narrow(-1, 0, sticks), Gaussian.Scale.Narrow(-1, 0, sticks), Temperature, IgrMap.StickBreaking, Delta);
        return new Draw(prefix.Transform(y.Narrow(-1, 0, sticks), Temperature), sticks, prefix);
    }

    /// <summary>The largest over rows of the smallest K with Σ_{k≤K} w_k &gt; ρ, where w_k = σ(y_k) Π_{i&lt;k} σ(−y_i).</summary>
    int Cut(Tensor<T> y)
    {
        int m = y.Shape.Last, sticks = 1;
        var ys = y.Span;
        for (int r = 0; r < y.Shape.Rows; r++)
        {
            double remaining = 1;
            int k = 0;
            while (1 - remaining <= Precision)
            {
                if (k == m)
                    throw new InvalidOperationException(
                        $"{Name}: row {r} still has {remaining:G3} of its stick after all {m} parameter coordinates (precision ρ = {Precision}); give more coordinates.");
                double v = 1 / (1 + Math.Exp(-double.CreateChecked(ys[r * m + k])));
                remaining *= 1 - v;
                k++;
            }
            sticks = Math.Max(sticks, k);
        }
        return sticks;
    }
}
