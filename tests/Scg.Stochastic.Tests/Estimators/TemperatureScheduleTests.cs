using Scg.Stochastic.Estimators;

namespace Scg.Stochastic.Tests.Estimators;

public class TemperatureScheduleTests
{
    [Fact]
    public void ConstantScheduleIsConstant()
    {
        var schedule = TemperatureSchedule.Constant(0.5);
        foreach (long t in new long[] { 0, 1, 1000, long.MaxValue }) Assert.Equal(0.5, schedule.At(t));
    }

    /// <summary>λ(t) = max(λmin, λ0·exp(−k·t)): starts at λ0, decays exponentially, never goes below the floor.</summary>
    [Fact]
    public void ExponentialDecayFollowsTheFormulaDownToTheFloor()
    {
        var schedule = TemperatureSchedule.ExponentialDecay(1.0, 1e-3, 0.5);
        Assert.Equal(1.0, schedule.At(0));
        Assert.Equal(Math.Exp(-0.1), schedule.At(100), 1e-15);
        Assert.Equal(Math.Exp(-0.5), schedule.At(500), 1e-15);
        int crossing = (int)Math.Ceiling(Math.Log(2) / 1e-3);   // λ0 e^(−kt) = λmin at t = ln 2 / k
        Assert.True(schedule.At(crossing - 1) > 0.5);
        Assert.Equal(0.5, schedule.At(crossing));
        Assert.Equal(0.5, schedule.At(1_000_000_000));
        double previous = double.PositiveInfinity;
        for (long t = 0; t < 2000; t += 7)
        {
            double now = schedule.At(t);
            Assert.True(now <= previous && now >= 0.5);
            previous = now;
        }
        Assert.Equal(2.0, TemperatureSchedule.ExponentialDecay(2.0, 0, 0.1).At(12345));   // k = 0: constant
    }

    [Theory]
    [InlineData("0.5", 0, 0.5)]
    [InlineData("2", 10, 2.0)]
    [InlineData("1e-1", 3, 0.1)]
    [InlineData(" 0.25 ", 3, 0.25)]
    [InlineData("exp:1.0,1e-4,0.5", 0, 1.0)]
    [InlineData("exp:1.0,1e-4,0.5", 1000, 0.9048374180359595)]
    [InlineData("exp:1.0,1e-4,0.5", 100000, 0.5)]
    [InlineData("exp:2,0,0.1", 999, 2.0)]
    public void ParseAcceptsNumbersAndExponentialSchedules(string text, long step, double expected)
    {
        var schedule = TemperatureSchedule.Parse(text);
        Assert.Equal(expected, schedule.At(step), 1e-12);
        Assert.Equal(schedule, TemperatureSchedule.Parse(schedule.ToString()!));   // ToString round-trips
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("0.5x")]
    [InlineData("exp:")]
    [InlineData("exp:1,2")]
    [InlineData("exp:1,2,3,4")]
    [InlineData("exp:a,b,c")]
    [InlineData("EXP:1,1e-4,0.5")]
    [InlineData("0,5")]
    public void ParseRejectsMalformedTextWithAFormatExample(string text)
    {
        var e = Assert.Throws<FormatException>(() => TemperatureSchedule.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("exp:", e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0.5")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("exp:0,1e-4,0.5")]
    [InlineData("exp:1,1e-4,0")]
    [InlineData("exp:1,-1,0.5")]
    [InlineData("exp:1,NaN,0.5")]
    public void ParseRejectsNonPositiveOrNonFiniteValues(string text)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.Parse(text));
        Assert.Contains("temperature", e.Message);
    }

    [Fact]
    public void FactoriesRejectBadArguments()
    {
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.Constant(0)).ParamName);
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.Constant(double.PositiveInfinity)).ParamName);
        Assert.Equal("initial", Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.ExponentialDecay(-1, 0.1, 0.5)).ParamName);
        Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.ExponentialDecay(1, -0.1, 0.5)).ParamName);
        Assert.Equal("minimum", Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureSchedule.ExponentialDecay(1, 0.1, 0)).ParamName);
        Assert.Throws<ArgumentNullException>(() => TemperatureSchedule.Parse(null!));
    }
}
