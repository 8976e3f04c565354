using System.Globalization;

namespace Scg.Stochastic.Estimators;

/// <summary>A relaxation temperature as a function of the training step.</summary>
public abstract record TemperatureSchedule
{
    /// <summary>The temperature at training step <paramref name="step"/>.</summary>
    public abstract double At(long step);

    /// <summary>λ(t) = λ.</summary>
    public static TemperatureSchedule Constant(double temperature) => new ConstantTemperature(RequirePositive(temperature, nameof(temperature)));

    /// <summary>λ(t) = max(λmin, λ0·exp(-k·t)).</summary>
    public static TemperatureSchedule ExponentialDecay(double initial, double rate, double minimum)
    {
        RequirePositive(initial, nameof(initial));
        RequirePositive(minimum, nameof(minimum));
        if (!(rate >= 0)) throw new ArgumentOutOfRangeException(nameof(rate), $"temperature schedule: decay rate must be ≥ 0, got {rate}.");
        return new ExponentialTemperature(initial, rate, minimum);
    }

    /// <summary>Parses "0.5" (constant) or "exp:λ0,k,λmin".</summary>
    public static TemperatureSchedule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("exp:", StringComparison.Ordinal))
        {
            var parts = text[4..].Split(',');
            if (parts.Length == 3 && TryNumber(parts[0], out double l0) && TryNumber(parts[1], out double k) && TryNumber(parts[2], out double lmin))
                return ExponentialDecay(l0, k, lmin);
        }
        else if (TryNumber(text, out double constant)) return Constant(constant);
        throw new FormatException($"temperature: expected a number like 0.5 or a schedule like exp:1.0,1e-4,0.5 (λ0,k,λmin), got '{text}'.");
    }

    static bool TryNumber(string s, out double v) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v);

    static double RequirePositive(double t, string name) =>
        t > 0 && double.IsFinite(t) ? t : throw new ArgumentOutOfRangeException(name, $"temperature must be a finite number > 0, got {t}.");

    sealed record ConstantTemperature(double Temperature) : TemperatureSchedule
    {
        public override double At(long step) => Temperature;
        public override string ToString() => Temperature.ToString(CultureInfo.InvariantCulture);
    }

    sealed record ExponentialTemperature(double Initial, double Rate, double Minimum) : TemperatureSchedule
    {
        public override double At(long step) => Math.Max(Minimum, Initial * Math.Exp(-Rate * step));
        public override string ToString() => FormattableString.Invariant($"exp:{Initial},{Rate},{Minimum}");
    }
}
