using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

/// <summary>
/// Seeded generator (xoshiro256**, seeded through SplitMix64): the same seed gives the same draws on any machine.
/// Streams of one seed are 2^128 draws apart (the xoshiro jump), so parallel workers never overlap.
/// </summary>
public sealed class Rng
{
    ulong _s0, _s1, _s2, _s3;

    /// <summary>The generator of <paramref name="seed"/>, advanced to stream <paramref name="stream"/> ≥ 0 (stream k starts k jumps of 2^128 draws in).</summary>
    public Rng(ulong seed, int stream = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        for (int i = 0; i < stream; i++) Jump();
    }

    Rng(ulong s0, ulong s1, ulong s2, ulong s3) { _s0 = s0; _s1 = s1; _s2 = s2; _s3 = s3; }

    /// <summary>A generator in this one's state: it draws what this one will draw next.</summary>
    public Rng Copy() => new(_s0, _s1, _s2, _s3);

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64() => Next(ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>One xoshiro256** step on a state held by the caller (in locals, so a loop keeps it in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Next(ref ulong s0, ref ulong s1, ref ulong s2, ref ulong s3)
    {
        ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)((NextUInt64() >> 32) * (ulong)n >> 32);
    }

    /// <summary>
    /// Uniform double strictly inside (0,1): (k + 1/2)·2^-53 for a 53-bit k, so the smallest value is 2^-54
    /// and the largest 1 - 2^-54; log U and log(1-U) are always finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => DoubleOf(NextUInt64());

    // The top bits as a signed integer: converted exactly (they fit the mantissa), in one instruction on every ISA.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static double DoubleOf(ulong bits) => ((long)(bits >> 11) + 0.5) * (1.0 / (1UL << 53));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float SingleOf(ulong bits) => ((int)(bits >> 41) + 0.5f) * (1.0f / (1 << 23));

    /// <summary>
    /// Uniform float strictly inside (0,1): (k + 1/2)·2^-23 for a 23-bit k, i.e. in [2^-24, 1 - 2^-24];
    /// 24 bits would round the top value to 1.0f.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextSingle() => SingleOf(NextUInt64());

    /// <summary>Standard normal by Box-Muller on two open-interval uniforms.</summary>
    public double NextNormal()
    {
        double u1 = NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fills u with uniform draws strictly inside (0,1) (<see cref="NextSingle"/> or <see cref="NextDouble"/>).</summary>
    public unsafe void FillUniform<T>(Span<T> u) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Long fills run in parts on the worker pool, each from this stream jumped to its first draw: the same
        // draws in the same places, and the same state after, as one pass.
        if (u.Length >= Elementwise.ParallelLength && (typeof(T) == typeof(float) || typeof(T) == typeof(double)))
            fixed (T* pu = u)
            {
                var job = new FillJob { S0 = _s0, S1 = _s1, S2 = _s2, S3 = _s3, Values = pu, Length = u.Length };
                if (WorkerPool.TryRun(&FillPart<T>, &job, null, WorkerPool.Parts))
                {
                    Apply(RngJump.Polynomial(u.Length), ref _s0, ref _s1, ref _s2, ref _s3);
                    return;
                }
            }
        FillInOrder(u, ref _s0, ref _s1, ref _s2, ref _s3);
    }

    /// <summary>A fill split over the pool: the state it starts from and the values.</summary>
    unsafe struct FillJob
    {
        public ulong S0, S1, S2, S3;
        public void* Values;
        public int Length;
    }

    static unsafe void FillPart<T>(void* context, object? state, int part, int parts) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = (FillJob*)context;
        var (begin, end) = WorkerPool.Part(job->Length, part, parts, 64);
        if (end <= begin) return;
        ulong s0 = job->S0, s1 = job->S1, s2 = job->S2, s3 = job->S3;
        if (begin > 0) Apply(RngJump.Polynomial(begin), ref s0, ref s1, ref s2, ref s3);
        FillInOrder(new Span<T>((T*)job->Values + begin, end - begin), ref s0, ref s1, ref s2, ref s3);
    }

    /// <summary>The uniform draws of state (s0..s3) into u, in order; the state is left after the last.</summary>
    static void FillInOrder<T>(Span<T> u, ref ulong state0, ref ulong state1, ref ulong state2, ref ulong state3) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ulong s0 = state0, s1 = state1, s2 = state2, s3 = state3;   // in locals, so the loop keeps them in registers
        if (typeof(T) == typeof(float))
            foreach (ref float x in MemoryMarshal.Cast<T, float>(u)) x = SingleOf(Next(ref s0, ref s1, ref s2, ref s3));
        else if (typeof(T) == typeof(double))
            foreach (ref double x in MemoryMarshal.Cast<T, double>(u)) x = DoubleOf(Next(ref s0, ref s1, ref s2, ref s3));
        else
            foreach (ref T x in u) x = T.CreateTruncating(DoubleOf(Next(ref s0, ref s1, ref s2, ref s3)));
        state0 = s0; state1 = s1; state2 = s2; state3 = s3;
    }

    /// <summary>Fills g with standard Gumbel draws, -log(-log U).</summary>
    public void FillGumbel<T>(Span<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FillUniform(g);
        Special.GumbelFromUniform(g);
    }

    /// <summary>Fills l with standard logistic draws, log U - log(1 - U).</summary>
    public void FillLogistic<T>(Span<T> l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FillUniform(l);
        Special.LogisticFromUniform(l);
    }

    /// <summary>Fills z with standard normal draws (<see cref="NextNormal"/>).</summary>
    public void FillNormal<T>(Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < z.Length; i++) z[i] = T.CreateTruncating(NextNormal());
    }

    /// <summary>The polynomial of the standard xoshiro256 jump, 2^128 steps (bit i of word i/64 is the coefficient of x^i).</summary>
    internal static ReadOnlySpan<ulong> StreamJump => [0x180EC6D33CFD0ABAUL, 0xD5A61266F0C9392CUL, 0xA9582618E03FC9AAUL, 0x39ABDC4529B1661CUL];

    void Jump() => Apply(StreamJump, ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>Moves the state to r(T)·state, T being one step: bit i of r (word i/64) is r's coefficient of x^i.</summary>
    static void Apply(ReadOnlySpan<ulong> r, ref ulong state0, ref ulong state1, ref ulong state2, ref ulong state3)
    {
        ulong s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = state0, t1 = state1, t2 = state2, t3 = state3;
        foreach (ulong j in r)
            for (int b = 0; b < 64; b++)
            {
                if ((j & (1UL << b)) != 0) { s0 ^= t0; s1 ^= t1; s2 ^= t2; s3 ^= t3; }
                Next(ref t0, ref t1, ref t2, ref t3);
            }
        state0 = s0; state1 = s1; state2 = s2; state3 = s3;
    }

    /// <summary>This generator advanced by <paramref name="steps"/> draws, without drawing them.</summary>
    internal Rng Jumped(long steps)
    {
        var r = Copy();
        if (steps > 0) Apply(RngJump.Polynomial(steps), ref r._s0, ref r._s1, ref r._s2, ref r._s3);
        return r;
    }

    /// <summary>Lowest bit of the first state word, then one step: the sequence <see cref="RngJump"/> analyses.</summary>
    internal bool StateBit0()
    {
        bool bit = (_s0 & 1) != 0;
        NextUInt64();
        return bit;
    }
}
