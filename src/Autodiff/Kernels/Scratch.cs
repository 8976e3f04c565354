using System.Numerics;

namespace Scg.Autodiff.Kernels;

/// <summary>Per-thread temporary buffers for kernels and backward rules (two independent slots).</summary>
internal static class Scratch<T> where T : unmanaged
{
    [ThreadStatic] static T[]? t_first, t_second;

    public static Span<T> First(int length) => Get(ref t_first, length);
    public static Span<T> Second(int length) => Get(ref t_second, length);

    static Span<T> Get(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new T[Math.Max(length, 2 * (buffer?.Length ?? 0))];
        return buffer.AsSpan(0, length);
    }
}
