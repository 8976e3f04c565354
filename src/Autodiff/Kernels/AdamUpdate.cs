using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// One Adam update over spans: g' = g + λθ; m = β1 m + (1-β1) g'; v = β2 v + (1-β2) g'²; θ -= s·m / (√v·c + ε).
/// The vector paths perform the same operations in the same order as the scalar tail, so results are bit-identical.
/// </summary>
internal static class AdamUpdate
{
    public static void Apply<T>(Span<T> theta, ReadOnlySpan<T> g, Span<T> m, Span<T> v, T beta1, T beta2, T weightDecay, T stepSize, T invSqrtC2, T epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = theta.Length;
        if (g.Length != n || m.Length != n || v.Length != n)
            throw new ArgumentException($"AdamUpdate: spans must have one length; theta {n}, g {g.Length}, m {m.Length}, v {v.Length}.");
        ref T tr = ref MemoryMarshal.GetReference(theta);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T mr = ref MemoryMarshal.GetReference(m);
        ref T vr = ref MemoryMarshal.GetReference(v);
        T c1 = T.One - beta1, c2 = T.One - beta2;
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            Vector512<T> b1 = Vector512.Create(beta1), b2 = Vector512.Create(beta2), a1 = Vector512.Create(c1), a2 = Vector512.Create(c2),
                wd = Vector512.Create(weightDecay), s = Vector512.Create(stepSize), c = Vector512.Create(invSqrtC2), eps = Vector512.Create(epsilon);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var th = Vector512.LoadUnsafe(ref tr, (nuint)i);
                var gj = Vector512.LoadUnsafe(ref gr, (nuint)i) + wd * th;
                var mj = b1 * Vector512.LoadUnsafe(ref mr, (nuint)i) + a1 * gj;
                var vj = b2 * Vector512.LoadUnsafe(ref vr, (nuint)i) + a2 * gj * gj;
                mj.StoreUnsafe(ref mr, (nuint)i);
                vj.StoreUnsafe(ref vr, (nuint)i);
                (th - s * mj / (Vector512.Sqrt(vj) * c + eps)).StoreUnsafe(ref tr, (nuint)i);
            }
        }
        else if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            // Vector<T> is the 256-bit vector on AVX2 hosts (and AVX-512 ones held to 256 bits) and the 128-bit one
            // with SSE or AdvSimd only
            Vector<T> b1 = new(beta1), b2 = new(beta2), a1 = new(c1), a2 = new(c2), wd = new(weightDecay), s = new(stepSize), c = new(invSqrtC2), eps = new(epsilon);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
            {
                var th = Vector.LoadUnsafe(ref tr, (nuint)i);
                var gj = Vector.LoadUnsafe(ref gr, (nuint)i) + wd * th;
                var mj = b1 * Vector.LoadUnsafe(ref mr, (nuint)i) + a1 * gj;
                var vj = b2 * Vector.LoadUnsafe(ref vr, (nuint)i) + a2 * gj * gj;
                mj.StoreUnsafe(ref mr, (nuint)i);
                vj.StoreUnsafe(ref vr, (nuint)i);
                (th - s * mj / (Vector.SquareRoot(vj) * c + eps)).StoreUnsafe(ref tr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T th = Unsafe.Add(ref tr, i);
            T gj = Unsafe.Add(ref gr, i) + weightDecay * th;
            T mj = beta1 * Unsafe.Add(ref mr, i) + c1 * gj;
            T vj = beta2 * Unsafe.Add(ref vr, i) + c2 * gj * gj;
            Unsafe.Add(ref mr, i) = mj;
            Unsafe.Add(ref vr, i) = vj;
            Unsafe.Add(ref tr, i) = th - stepSize * mj / (T.Sqrt(vj) * invSqrtC2 + epsilon);
        }
    }
}
