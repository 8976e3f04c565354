namespace Scg.Autodiff;

/// <summary>
/// The element of a gradient check furthest from its tolerance: Ratio = |a − n| / (atol + rtol·|n|) for the analytic
/// gradient a and the numeric one n. The check passes when Ratio ≤ 1 at every element.
/// </summary>
public readonly record struct GradCheckResult(double Ratio, int Input, int Element, double Analytic, double Numeric, double Rtol, double Atol)
{
    /// <summary>True when every element is within its tolerance (<see cref="Ratio"/> ≤ 1).</summary>
    public bool Passed => Ratio <= 1;

    /// <summary>The verdict and the worst element's gradients against its tolerance.</summary>
    public override string ToString() =>
        $"{(Passed ? "passed" : "failed")}: worst at input {Input} element {Element}: analytic {Analytic:G10}, numeric {Numeric:G10}, " +
        $"|a - n| = {Math.Abs(Analytic - Numeric):E2} against atol + rtol·|n| = {Atol + Rtol * Math.Abs(Numeric):E2} (rtol {Rtol:G3}, atol {Atol:G3})";
}

/// <summary>Checks reverse-mode gradients against finite differences in double precision.</summary>
public static class GradCheck
{
    /// <summary>
    /// Projects f's output on fixed random weights R (so every output element matters), differentiates
    /// L = Σ R⊙f(inputs) by backward and by fourth-order central differences
    /// n = [8(L(x+h) − L(x−h)) − (L(x+2h) − L(x−2h))] / 12h with h = <paramref name="step"/>, and requires
    /// |a − n| ≤ atol + rtol·|n| at every element, as torch.autograd.gradcheck does: a rule off by a factor fails at
    /// any gradient well above atol. Inputs are made parameters; their values are restored. Kinks must be more than
    /// 2h away from the inputs.
    /// </summary>
    public static GradCheckResult Check(Func<Tensor<double>[], Tensor<double>> f, Tensor<double>[] inputs, ulong seed = 1,
        double step = 1e-4, double rtol = 1e-6, double atol = 1e-11)
    {
        if (!(step > 0)) throw new ArgumentOutOfRangeException(nameof(step), $"GradCheck: step must be > 0, got {step}.");
        if (!(rtol >= 0) || !(atol >= 0) || rtol + atol == 0)
            throw new ArgumentOutOfRangeException(nameof(atol), $"GradCheck: rtol and atol must be ≥ 0 and not both 0, got rtol {rtol}, atol {atol}.");
        foreach (var x in inputs)
        {
            if (!x.RequiresGrad) x.AsParameter();
            x.ZeroGrad();
        }
        var output = f(inputs);
        var rng = new Rng(seed);
        var weights = Tensor<double>.Zeros(output.Shape);
        var w = weights.Span;
        for (int i = 0; i < w.Length; i++) w[i] = 2 * rng.NextDouble() - 1;
        (output * weights).Sum().Backward();

        double Loss()
        {
            using var _ = Autograd.NoGrad();
            return (f(inputs) * weights).Sum().Item();
        }

        var worst = new GradCheckResult(0, -1, -1, 0, 0, rtol, atol);
        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            var values = x.Span;
            var analytic = x.Grad?.ToArray() ?? new double[x.Size];
            for (int i = 0; i < values.Length; i++)
            {
                double original = values[i];
                values[i] = original + step; double up = Loss();
                values[i] = original - step; double down = Loss();
                values[i] = original + 2 * step; double up2 = Loss();
                values[i] = original - 2 * step; double down2 = Loss();
                values[i] = original;
                double near = up - down, far = up2 - down2;
                double numeric = (8 * near - far) / (12 * step);
                double ratio = analytic[i] == numeric ? 0 : Math.Abs(analytic[i] - numeric) / (atol + rtol * Math.Abs(numeric));
                if (double.IsNaN(ratio)) ratio = double.PositiveInfinity;
                if (ratio > worst.Ratio || worst.Input < 0) worst = new GradCheckResult(ratio, k, i, analytic[i], numeric, rtol, atol);
            }
        }
        return worst;
    }
}
