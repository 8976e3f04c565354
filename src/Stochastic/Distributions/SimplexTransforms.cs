using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// softmax++(x/τ) (IGR paper Eq. 21) from ℝ^{K−1} onto the open simplex in ℝ^K: z_k = e^{x_k/τ}/(Σ_j e^{x_j/τ} + δ) for
/// k &lt; K, and the last coordinate δ/(Σ_j e^{x_j/τ} + δ), i.e. the softmax of [x/τ, log δ].
/// </summary>
public sealed class SoftmaxPlusPlusTransform<T> : ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>softmax++ at temperature τ &gt; 0 with δ &gt; 0.</summary>
    public SoftmaxPlusPlusTransform(double temperature, double delta)
    {
        Temperature = Check.Temperature(temperature, Name);
        Delta = Check.Temperature(delta, Name, nameof(delta));
    }

    /// <summary>τ.</summary>
    public double Temperature { get; }

    /// <summary>δ &gt; 0.</summary>
    public double Delta { get; }

    /// <inheritdoc/>
    public string Name => "softmax++";
    /// <inheritdoc/>
    public int EventRank => 1;

    /// <summary>One category more than the input's last axis.</summary>
    public Shape ForwardShape(Shape shape) => Check.EventAxis(shape, 1, Name, "x").WithAxis(shape.Rank - 1, shape.Last + 1);

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x) => Logits(x).Softmax();

    /// <summary>x_k = τ (log z_k − log z_K + log δ) for k &lt; K.</summary>
    public Tensor<T> Inverse(Tensor<T> y)
    {
        int d = Check.EventAxis(y.Shape, 2, Name, nameof(y)).Last - 1;
        var logZ = y.Log();
        return (logZ.Narrow(-1, 0, d) - logZ.Narrow(-1, d, 1) + Math.Log(Delta)) * Temperature;
    }

    /// <summary>
    /// Σ_{k≤K} log z_k − (K−1) log τ: at u = x/τ the matrix determinant lemma gives det(diag z − z zᵀ) = Π_{k≤K} z_k over
    /// the free coordinates. Computed on the x side, as Σ_k log_softmax([x/τ, log δ])_k, finite where z rounds to a vertex.
    /// </summary>
    public Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y) => Logits(x).LogSoftmax().Sum(-1) - x.Shape.Last * Math.Log(Temperature);

    /// <summary>[x/τ, log δ] along the last axis.</summary>
    Tensor<T> Logits(Tensor<T> x)
    {
        Check.EventAxis(x.Shape, 1, Name, nameof(x));
        var logDelta = Tensor<T>.Full(x.Shape.WithAxis(x.Shape.Rank - 1, 1), T.CreateChecked(Math.Log(Delta)));
        return Ops.Concat(-1, x / Temperature, logDelta);
    }
}

/// <summary>
/// w = SB(σ(x)) (IGR paper Eq. 22 and 24, with x the Gaussian point the paper calls y), from ℝ^{K−1} onto
/// {w : w_k &gt; 0, Σ_k w_k &lt; 1}: standard stick-breaking (Ferguson, as the paper cites) w_k = v_k Π_{i&lt;k} (1 − v_i)
/// with v = σ(x), i.e. log w_k = log σ(x_k) + Σ_{i&lt;k} log σ(−x_i). Eq. 22 as printed multiplies by (1 − v_i) of the
/// outputs, which leaves the simplex for K &gt; 3; the authors' code uses the standard form.
/// </summary>
public sealed class StickBreakingTransform<T> : ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public string Name => "stick-breaking";
    /// <inheritdoc/>
    public int EventRank => 1;
    /// <inheritdoc/>
    public Shape ForwardShape(Shape shape) => Check.EventAxis(shape, 1, Name, "x");

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x)
    {
        Check.EventAxis(x.Shape, 1, Name, nameof(x));
        return (x.LogSigmoid() + CumulativeSum((-x).LogSigmoid(), inclusive: false)).Exp();
    }

    /// <summary>x_k = logit v_k = log w_k − log(1 − Σ_{i≤k} w_i), with v_k = w_k / (1 − Σ_{i&lt;k} w_i) and w = y.</summary>
    public Tensor<T> Inverse(Tensor<T> y)
    {
        Check.EventAxis(y.Shape, 1, Name, nameof(y));
        return y.Log() - (1.0 - CumulativeSum(y, inclusive: true)).Log();
    }

    /// <summary>
    /// The Jacobian is triangular with diagonal ∂w_k/∂x_k = w_k (1 − v_k), so log |det J| = Σ_k log w_k + log(1 − Σ_k w_k).
    /// On the x side, with d = K − 1 coordinates: Σ_k log σ(x_k) + Σ_k (d + 1 − k) log σ(−x_k), since log σ(−x_i)
    /// enters log w_k for every k &gt; i and the remainder once.
    /// </summary>
    public Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y)
    {
        int d = Check.EventAxis(x.Shape, 1, Name, nameof(x)).Last;
        var multiplicity = Tensor<T>.Uninitialized(new Shape(d));
        var m = multiplicity.Span;
        for (int k = 0; k < d; k++) m[k] = T.CreateChecked(d - k);
        return x.LogSigmoid().Sum(-1) + ((-x).LogSigmoid() * multiplicity).Sum(-1);
    }

    /// <summary>Σ_{i≤k} x_i (inclusive) or Σ_{i&lt;k} x_i over the last axis, as a product with a triangular constant.</summary>
    static Tensor<T> CumulativeSum(Tensor<T> x, bool inclusive)
    {
        int n = x.Shape.Last;
        var triangle = Tensor<T>.Zeros(n, n);
        var t = triangle.Span;
        for (int i = 0; i < n; i++)
            for (int k = inclusive ? i : i + 1; k < n; k++) t[i * n + k] = T.One;
        return Ops.MatMul(x.Reshape(-1, n), triangle).Reshape(x.Shape.ToArray());
    }
}
