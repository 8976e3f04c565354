namespace Scg.Autodiff.Tests;

/// <summary>Jumps of the generator by any distance: the characteristic polynomial behind them, and the draws.</summary>
public sealed class RngTests
{
    [Fact]
    public void TheCharacteristicPolynomialGivesTheStandardStreamJump()
    {
        // x^(2^128) mod p(x) must be the published jump polynomial of xoshiro256 (2^128 steps)
        Assert.Equal(Rng.StreamJump.ToArray(), RngJump.PowerOfTwoPowerOfX(128));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(63)]
    [InlineData(256)]
    [InlineData(40_037)]
    public void AJumpOfNStepsIsNDraws(int steps)
    {
        var stepped = new Rng(77);
        for (int i = 0; i < steps; i++) stepped.NextUInt64();
        var jumped = new Rng(77).Jumped(steps);
        for (int i = 0; i < 5; i++) Assert.Equal(stepped.NextUInt64(), jumped.NextUInt64());
    }
}
