using System.Numerics;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

// Elementwise operators for the broadcasting paths and for fused derivative accumulation.
// Accumulating operators take (g, y or x, dy) and return g + (local derivative)·dy.

internal readonly struct AddOperator<T> : IBinaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T a, T b) => a + b;
    public static Vector128<T> Invoke(Vector128<T> a, Vector128<T> b) => a + b;
    public static Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => a + b;
    public static Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => a + b;
}

internal readonly struct SubtractOperator<T> : IBinaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T a, T b) => a - b;
    public static Vector128<T> Invoke(Vector128<T> a, Vector128<T> b) => a - b;
    public static Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => a - b;
    public static Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => a - b;
}

internal readonly struct MultiplyOperator<T> : IBinaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T a, T b) => a * b;
    public static Vector128<T> Invoke(Vector128<T> a, Vector128<T> b) => a * b;
    public static Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => a * b;
    public static Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => a * b;
}

internal readonly struct DivideOperator<T> : IBinaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T a, T b) => a / b;
    public static Vector128<T> Invoke(Vector128<T> a, Vector128<T> b) => a / b;
    public static Vector256<T> Invoke(Vector256<T> a, Vector256<T> b) => a / b;
    public static Vector512<T> Invoke(Vector512<T> a, Vector512<T> b) => a / b;
}

/// <summary>a - b·c (the product rounded, then subtracted: no fused multiply-add).</summary>
internal readonly struct SubtractProductOperator<T> : ITernaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T a, T b, T c) => a - b * c;
    public static Vector128<T> Invoke(Vector128<T> a, Vector128<T> b, Vector128<T> c) => a - b * c;
    public static Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c) => a - b * c;
    public static Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c) => a - b * c;
}

/// <summary>The unit step H(x): 1 where x &gt; 0, else 0 (NaN gives 0).</summary>
internal readonly struct StepOperator<T> : IUnaryOperator<T> where T : unmanaged, INumberBase<T>, IComparisonOperators<T, T, bool>
{
    public static T Invoke(T x) => x > T.Zero ? T.One : T.Zero;
    public static Vector128<T> Invoke(Vector128<T> x) => Vector128.GreaterThan(x, Vector128<T>.Zero) & Vector128<T>.One;
    public static Vector256<T> Invoke(Vector256<T> x) => Vector256.GreaterThan(x, Vector256<T>.Zero) & Vector256<T>.One;
    public static Vector512<T> Invoke(Vector512<T> x) => Vector512.GreaterThan(x, Vector512<T>.Zero) & Vector512<T>.One;
}

/// <summary>g + dy·(1 - y²): tanh's derivative from its output.</summary>
internal readonly struct TanhGradAccumulate<T> : ITernaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T g, T y, T dy) => g + dy * (T.One - y * y);
    public static Vector128<T> Invoke(Vector128<T> g, Vector128<T> y, Vector128<T> dy) => g + dy * (Vector128<T>.One - y * y);
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y, Vector256<T> dy) => g + dy * (Vector256<T>.One - y * y);
    public static Vector512<T> Invoke(Vector512<T> g, Vector512<T> y, Vector512<T> dy) => g + dy * (Vector512<T>.One - y * y);
}

/// <summary>g + dy·y·(1 - y): the logistic sigmoid's derivative from its output.</summary>
internal readonly struct SigmoidGradAccumulate<T> : ITernaryOperator<T> where T : unmanaged, INumberBase<T>
{
    public static T Invoke(T g, T y, T dy) => g + dy * y * (T.One - y);
    public static Vector128<T> Invoke(Vector128<T> g, Vector128<T> y, Vector128<T> dy) => g + dy * y * (Vector128<T>.One - y);
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y, Vector256<T> dy) => g + dy * y * (Vector256<T>.One - y);
    public static Vector512<T> Invoke(Vector512<T> g, Vector512<T> y, Vector512<T> dy) => g + dy * y * (Vector512<T>.One - y);
}

/// <summary>g + (x &gt; 0 ? dy : 0): ReLU's derivative gated on the input's sign.</summary>
internal readonly struct ReluGradAccumulate<T> : ITernaryOperator<T> where T : unmanaged, INumberBase<T>, IComparisonOperators<T, T, bool>
{
    public static T Invoke(T g, T x, T dy) => x > T.Zero ? g + dy : g;
    public static Vector128<T> Invoke(Vector128<T> g, Vector128<T> x, Vector128<T> dy) => g + (dy & Vector128.GreaterThan(x, Vector128<T>.Zero));
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> x, Vector256<T> dy) => g + (dy & Vector256.GreaterThan(x, Vector256<T>.Zero));
    public static Vector512<T> Invoke(Vector512<T> g, Vector512<T> x, Vector512<T> dy) => g + (dy & Vector512.GreaterThan(x, Vector512<T>.Zero));
}

/// <summary>max(x, 0), NaN-propagating.</summary>
internal readonly struct ReluOperator<T> : IUnaryOperator<T> where T : unmanaged, INumberBase<T>, IComparisonOperators<T, T, bool>
{
    public static T Invoke(T x) => T.IsNaN(x) || x > T.Zero ? x : T.Zero;
    public static Vector128<T> Invoke(Vector128<T> x) => Vector128.Max(x, Vector128<T>.Zero);
    public static Vector256<T> Invoke(Vector256<T> x) => Vector256.Max(x, Vector256<T>.Zero);
    public static Vector512<T> Invoke(Vector512<T> x) => Vector512.Max(x, Vector512<T>.Zero);
}
