using System.Globalization;

namespace Scg.Autodiff.Kernels;

/// <summary>Size and associativity of one data cache level, as one core's share of it.</summary>
readonly record struct CacheLevel(int Bytes, int Ways)
{
    /// <summary>Bytes of one way (sets × line size).</summary>
    public int WayBytes => Bytes / Ways;
}

/// <summary>
/// The data caches of this machine as seen by one core: read once from Linux sysfs
/// (/sys/devices/system/cpu/cpu0/cache). L1 is the core's own (an SMT sibling shares it in time, as blocking models
/// assume); L2 and L3 are divided by the number of CPUs sharing them. Where sysfs is unavailable (other systems, or a level not reported), typical sizes: 32 KiB 8-way L1,
/// 512 KiB 8-way L2, 2 MiB 16-way L3 per core.
/// </summary>
static class CacheInfo
{
    public static readonly CacheLevel L1, L2, L3;

    static CacheInfo()
    {
        L1 = new CacheLevel(32 << 10, 8);
        L2 = new CacheLevel(512 << 10, 8);
        L3 = new CacheLevel(2 << 20, 16);
        const string root = "/sys/devices/system/cpu/cpu0/cache";
        if (!OperatingSystem.IsLinux() || !Directory.Exists(root)) return;
        try
        {
            foreach (string dir in Directory.GetDirectories(root, "index*"))
            {
                if (Read(dir, "type") is not ("Data" or "Unified")) continue;
                int? bytes = ParseSize(Read(dir, "size"));
                int? ways = int.TryParse(Read(dir, "ways_of_associativity"), CultureInfo.InvariantCulture, out int w) && w > 0 ? w : null;
                int sharedBy = CountCpus(Read(dir, "shared_cpu_list"));
                if (bytes is not > 0) continue;
                string? level = Read(dir, "level");
                int share = level == "1" ? bytes.Value : Math.Max(bytes.Value / sharedBy, 4096);
                switch (level)
                {
                    case "1": L1 = new CacheLevel(share, ways ?? L1.Ways); break;
                    case "2": L2 = new CacheLevel(share, ways ?? L2.Ways); break;
                    case "3": L3 = new CacheLevel(share, ways ?? L3.Ways); break;
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    static string? Read(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>"32K", "1024K", "32M" or a plain byte count; null if unreadable.</summary>
    internal static int? ParseSize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, CultureInfo.InvariantCulture, out long n) && n > 0
            ? (int)Math.Min(n * unit, 1L << 30) : null;
    }

    /// <summary>Number of CPUs in a list such as "0-3,8-11"; 1 if unreadable.</summary>
    internal static int CountCpus(string? list)
    {
        if (string.IsNullOrEmpty(list)) return 1;
        int count = 0;
        foreach (string range in list.Split(','))
        {
            string[] ends = range.Split('-');
            if (!int.TryParse(ends[0], CultureInfo.InvariantCulture, out int first)) return 1;
            int last = first;
            if (ends.Length > 1 && !int.TryParse(ends[1], CultureInfo.InvariantCulture, out last)) return 1;
            count += Math.Max(last - first + 1, 1);
        }
        return Math.Max(count, 1);
    }
}
