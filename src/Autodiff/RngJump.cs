using System.Collections.Concurrent;

namespace Scg.Autodiff;

/// <summary>
/// Jumps of xoshiro256 by any number of steps. Its state moves by a linear map T over GF(2)^256, so by Cayley–Hamilton
/// T^n = r(T) with r(x) = x^n mod p(x), p being T's characteristic polynomial (degree 256, found once by
/// Berlekamp–Massey from one state bit's sequence). Applying r(T) costs 256 steps of the generator; r itself is
/// computed once per distance and kept, since a training step fills the same lengths every time.
/// </summary>
internal static class RngJump
{
    /// <summary>p(x) without its leading x^256 term: bit i of word i/64 is the coefficient of x^i.</summary>
    static readonly ulong[] Characteristic = FindCharacteristic();
    static readonly ConcurrentDictionary<long, ulong[]> Polynomials = new();

    /// <summary>r(x) = x^n mod p(x) as 4 words: the jump of n steps, applied by the generator.</summary>
    public static ulong[] Polynomial(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return Polynomials.GetOrAdd(n, PowerOfX);   // a static method group: its delegate is cached, so a hit allocates nothing
    }

    /// <summary>x^n mod p(x), by squaring and multiplying from the top bit of n.</summary>
    static ulong[] PowerOfX(long n)
    {
        var r = new ulong[4];
        r[0] = 1;
        for (int b = 63; b >= 0; b--)
        {
            r = MultiplyMod(r, r);
            if (((n >> b) & 1) != 0) TimesX(r);
        }
        return r;
    }

    /// <summary>x^(2^k) mod p(x): k squarings of x (the standard 2^128 jump is k = 128).</summary>
    internal static ulong[] PowerOfTwoPowerOfX(int k)
    {
        var r = new ulong[4];
        r[0] = 2;
        for (int i = 0; i < k; i++) r = MultiplyMod(r, r);
        return r;
    }

    static ulong[] MultiplyMod(ulong[] a, ulong[] b)
    {
        var r = new ulong[4];
        for (int i = 255; i >= 0; i--)
        {
            TimesX(r);
            if (((b[i >> 6] >> (i & 63)) & 1) != 0)
                for (int w = 0; w < 4; w++) r[w] ^= a[w];
        }
        return r;
    }

    /// <summary>r = r·x mod p(x).</summary>
    static void TimesX(ulong[] r)
    {
        bool carry = (r[3] >> 63) != 0;
        r[3] = (r[3] << 1) | (r[2] >> 63);
        r[2] = (r[2] << 1) | (r[1] >> 63);
        r[1] = (r[1] << 1) | (r[0] >> 63);
        r[0] <<= 1;
        if (carry)
            for (int w = 0; w < 4; w++) r[w] ^= Characteristic[w];
    }

    /// <summary>Berlekamp–Massey over GF(2) on 512 values of the lowest state bit (from a fixed nonzero state).</summary>
    static ulong[] FindCharacteristic()
    {
        const int degree = 256, length = 2 * degree;
        var rng = new Rng(0x5EED);
        var s = new byte[length];
        for (int i = 0; i < length; i++) s[i] = (byte)(rng.StateBit0() ? 1 : 0);
        var c = new byte[length + 1]; var b = new byte[length + 1];
        c[0] = b[0] = 1;
        int l = 0, m = 1;
        for (int n = 0; n < length; n++)
        {
            int d = s[n];
            for (int i = 1; i <= l; i++) d ^= c[i] & s[n - i];
            if (d == 0) { m++; continue; }
            var t = (byte[])c.Clone();
            for (int i = 0; i + m <= length; i++) c[i + m] ^= b[i];
            if (2 * l <= n) { l = n + 1 - l; b = t; m = 1; }
            else m++;
        }
        if (l != degree) throw new InvalidOperationException($"xoshiro256's state bit has linear complexity {l}; expected {degree}.");
        // connection polynomial C(x) = 1 + c1 x + … + c256 x^256; characteristic p(x) = x^256 C(1/x) = x^256 + c1 x^255 + … + c256
        var p = new ulong[4];
        for (int i = 1; i <= degree; i++)
            if (c[i] != 0) p[(degree - i) >> 6] |= 1UL << ((degree - i) & 63);
        return p;
    }
}
