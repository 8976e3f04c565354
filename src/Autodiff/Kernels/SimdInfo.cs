using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Scg.Autodiff.Kernels;

/// <summary>Which vector path the kernels take on this host: the widest hardware-accelerated width and whether FMA is used.</summary>
public static class SimdInfo
{
    /// <summary>The widest accelerated vector in bits: 512, 256, 128, or 0 when every kernel runs its scalar path.</summary>
    public static int Width =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;

    /// <summary>True when fused multiply-add instructions are available (x86 FMA, or Arm64 AdvSimd).</summary>
    public static bool HasFma => Fma.IsSupported || AdvSimd.IsSupported;

    /// <summary>
    /// The path as one name, e.g. "X64-512-fma", "X64-128" or "Arm64-128-fma": hosts with the same name run the same
    /// instructions, so a seeded run gives the same bits on them.
    /// </summary>
    public static string Path => $"{RuntimeInformation.ProcessArchitecture}-{Width}{(HasFma ? "-fma" : "")}";
}
