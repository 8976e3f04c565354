using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// An invertible differentiable map y = f(x) for a change of variables: a density p_X becomes
/// p_Y(y) = p_X(f⁻¹(y)) / |det J_f(f⁻¹(y))| (see <see cref="TransformedDistribution{T}"/>). The map acts jointly on the
/// last <see cref="EventRank"/> axes and independently on the axes before them.
/// </summary>
public interface ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The map's name, used in error messages.</summary>
    string Name { get; }

    /// <summary>Number of trailing axes the map acts on jointly: 0 for an elementwise map, 1 for a map of vectors.</summary>
    int EventRank { get; }

    /// <summary>The shape of <see cref="Forward"/>(x) for x of shape <paramref name="shape"/> (the event axes may change length).</summary>
    Shape ForwardShape(Shape shape);

    /// <summary>y = f(x), differentiable in x.</summary>
    Tensor<T> Forward(Tensor<T> x);

    /// <summary>x = f⁻¹(y), differentiable in y; y must lie in the image of f (unchecked: the distribution built on the map checks its values).</summary>
    Tensor<T> Inverse(Tensor<T> y);

    /// <summary>
    /// log |det ∂f(x)/∂x| given both x and y = f(x), so that each map computes it on the side where it is stable; the
    /// shape of x without its last <see cref="EventRank"/> axes. A map whose output has one coordinate more than its
    /// input (softmax++ onto the simplex) gives the Jacobian of the map to the output's free coordinates.
    /// </summary>
    Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y);
}

/// <summary>y = e^x elementwise, from the log-simplex to the simplex (Concrete = exp of ExpConcrete); log |det J| = Σ x.</summary>
public sealed class ExpTransform<T> : ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public string Name => "exp";
    /// <inheritdoc/>
    public int EventRank => 0;
    /// <inheritdoc/>
    public Shape ForwardShape(Shape shape) => shape;
    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x) => x.Exp();
    /// <inheritdoc/>
    public Tensor<T> Inverse(Tensor<T> y) => y.Log();

    /// <summary>log e^x = x: exact on the log side, where y may have rounded to 0.</summary>
    public Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y) => x;
}

/// <summary>y = σ(x) elementwise, from logits to (0,1) (Binary Concrete = σ of its logit node).</summary>
public sealed class SigmoidTransform<T> : ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public string Name => "sigmoid";
    /// <inheritdoc/>
    public int EventRank => 0;
    /// <inheritdoc/>
    public Shape ForwardShape(Shape shape) => shape;
    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x) => x.Sigmoid();

    /// <summary>logit y = log y − log(1 − y), each term accurate at its end of (0,1).</summary>
    public Tensor<T> Inverse(Tensor<T> y) => y.Log() - (-y).Log1p();

    /// <summary>log σ'(x) = log σ(x) + log σ(−x), finite for every finite x (on the y side, log y(1 − y) is −∞ once y rounds to 0 or 1).</summary>
    public Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y) => x.LogSigmoid() + (-x).LogSigmoid();
}

/// <summary>
/// f = f_n ∘ … ∘ f_1: the parts applied in the order given. Its event rank is the largest of the parts'; the log-det of a
/// part of lower rank is summed over the extra axes.
/// </summary>
public sealed class ComposedTransform<T> : ITransform<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>f_n ∘ … ∘ f_1 of at least one part, <paramref name="parts"/>[0] applied first.</summary>
    public ComposedTransform(params ITransform<T>[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("ComposedTransform: parts must hold at least one transform, got none.", nameof(parts));
        for (int i = 0; i < parts.Length; i++)
            if (parts[i] is null) throw new ArgumentNullException(nameof(parts), $"ComposedTransform: part {i} is null.");
        Parts = [.. parts];
        EventRank = Parts.Max(p => p.EventRank);
    }

    /// <summary>The parts, first applied first.</summary>
    public IReadOnlyList<ITransform<T>> Parts { get; }

    /// <inheritdoc/>
    public string Name => string.Join(" ∘ ", Parts.Reverse().Select(p => p.Name));
    /// <inheritdoc/>
    public int EventRank { get; }

    /// <inheritdoc/>
    public Shape ForwardShape(Shape shape)
    {
        foreach (var part in Parts) shape = part.ForwardShape(shape);
        return shape;
    }

    /// <inheritdoc/>
    public Tensor<T> Forward(Tensor<T> x)
    {
        foreach (var part in Parts) x = part.Forward(x);
        return x;
    }

    /// <inheritdoc/>
    public Tensor<T> Inverse(Tensor<T> y)
    {
        for (int i = Parts.Count - 1; i >= 0; i--) y = Parts[i].Inverse(y);
        return y;
    }

    /// <summary>Σ_i log |det J_{f_i}| at the intermediate points, recomputed forward from x (the last part ends at the given y).</summary>
    public Tensor<T> LogAbsDetJacobian(Tensor<T> x, Tensor<T> y)
    {
        Tensor<T>? sum = null;
        for (int i = 0; i < Parts.Count; i++)
        {
            var next = i == Parts.Count - 1 ? y : Parts[i].Forward(x);
            sum = Add(sum, PartLogAbsDet(i, x, next));
            x = next;
        }
        return sum!;
    }

    /// <summary>x = f⁻¹(y) and log |det J_f(x)| in one backward walk through the parts, reusing each intermediate point.</summary>
    internal (Tensor<T> X, Tensor<T> LogAbsDet) InverseWithLogAbsDet(Tensor<T> y)
    {
        Tensor<T>? sum = null;
        for (int i = Parts.Count - 1; i >= 0; i--)
        {
            var x = Parts[i].Inverse(y);
            sum = Add(sum, PartLogAbsDet(i, x, y));
            y = x;
        }
        return (y, sum!);
    }

    Tensor<T> PartLogAbsDet(int i, Tensor<T> x, Tensor<T> y) => SumTrailingAxes(Parts[i].LogAbsDetJacobian(x, y), EventRank - Parts[i].EventRank);

    static Tensor<T> Add(Tensor<T>? sum, Tensor<T> term) => sum is null ? term : sum + term;

    /// <summary>x summed over its last <paramref name="axes"/> axes (x itself for 0).</summary>
    internal static Tensor<T> SumTrailingAxes(Tensor<T> x, int axes)
    {
        for (int i = 0; i < axes; i++) x = x.Sum(-1);
        return x;
    }
}
