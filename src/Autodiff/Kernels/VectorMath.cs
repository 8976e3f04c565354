using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>exp and log of float or double vectors for kernels generic over the element type (the JIT folds the type test).</summary>
static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp<T>(Vector128<T> v) => typeof(T) == typeof(float) ? Vector128.Exp(v.AsSingle()).As<float, T>() : Vector128.Exp(v.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> v) => typeof(T) == typeof(float) ? Vector256.Exp(v.AsSingle()).As<float, T>() : Vector256.Exp(v.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> v) => typeof(T) == typeof(float) ? Vector512.Exp(v.AsSingle()).As<float, T>() : Vector512.Exp(v.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Log<T>(Vector128<T> v) => typeof(T) == typeof(float) ? Vector128.Log(v.AsSingle()).As<float, T>() : Vector128.Log(v.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log<T>(Vector256<T> v) => typeof(T) == typeof(float) ? Vector256.Log(v.AsSingle()).As<float, T>() : Vector256.Log(v.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log<T>(Vector512<T> v) => typeof(T) == typeof(float) ? Vector512.Log(v.AsSingle()).As<float, T>() : Vector512.Log(v.AsDouble()).As<double, T>();
}
