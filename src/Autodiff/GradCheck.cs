namespace Scg.Autodiff;

/// <summary>The worst disagreement between the analytic gradient and central differences.</summary>
public readonly record struct GradCheckResult(double MaxError, int Input, int Element, double Analytic, double Numeric)
{
    public override string ToString() =>
        $"max error {MaxError:E2} at input {Input} element {Element}: analytic {Analytic:G10}, numeric {Numeric:G10}";
}

/// <summary>Checks reverse-mode gradients against central finite differences in double precision.</summary>
public static class GradCheck
{
    /// <summary>
    /// Projects f's output on fixed random weights R (so every output element matters), differentiates
    /// Σ R⊙f(inputs) by backward and by central differences with step <paramref name="step"/>, and returns the
    /// largest error |a - n| / max(1, |a|, |n|). Inputs are made parameters; their values are restored.
    /// </summary>
    public static GradCheckResult Check(Func<Tensor<double>[], Tensor<double>> f, Tensor<double>[] inputs, ulong seed = 1, double step = 1e-6)
    {
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

        var worst = new GradCheckResult(0, -1, -1, 0, 0);
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
                values[i] = original;
                double numeric = (up - down) / (2 * step);
                double err = Math.Abs(analytic[i] - numeric) / Math.Max(1, Math.Max(Math.Abs(analytic[i]), Math.Abs(numeric)));
                if (double.IsNaN(err)) err = double.PositiveInfinity;
                if (err > worst.MaxError || worst.Input < 0) worst = new GradCheckResult(err, k, i, analytic[i], numeric);
            }
        }
        return worst;
    }
}
