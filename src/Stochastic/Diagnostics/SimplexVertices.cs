namespace Scg.Stochastic.Diagnostics;

/// <summary>How discrete relaxed samples are: distances to the nearest vertex of the simplex (IGR section 5).</summary>
public static class SimplexVertices
{
    /// <summary>Euclidean distance from a point of the simplex to its nearest vertex e_k (k = argmax).</summary>
    public static double DistanceToNearestVertex(ReadOnlySpan<double> point)
    {
        if (point.Length == 0) throw new ArgumentException("SimplexVertices: the point has no coordinates.", nameof(point));
        int k = 0;
        for (int i = 1; i < point.Length; i++) if (point[i] > point[k]) k = i;
        double s = 0;
        for (int i = 0; i < point.Length; i++) { double d = point[i] - (i == k ? 1 : 0); s += d * d; }
        return Math.Sqrt(s);
    }

    /// <summary>Share of the rows of <paramref name="points"/> ([rows × n], row-major) within <paramref name="distance"/> of a vertex.</summary>
    public static double ShareWithin(ReadOnlySpan<double> points, int n, double distance)
    {
        if (n <= 0 || points.Length % n != 0) throw new ArgumentException($"SimplexVertices: {points.Length} values do not form rows of {n}.", nameof(points));
        int rows = points.Length / n, near = 0;
        for (int r = 0; r < rows; r++) if (DistanceToNearestVertex(points.Slice(r * n, n)) <= distance) near++;
        return rows == 0 ? 0 : (double)near / rows;
    }

    /// <summary>
    /// The largest temperature in [lo, hi] at which at least <paramref name="share"/> of the samples lie within
    /// <paramref name="distance"/> of a vertex, by bisection on λ (lower λ gives more discrete samples).
    /// <paramref name="sampleAt"/> draws rows of relaxed samples at a temperature; use a fixed seed inside it so the search is deterministic.
    /// </summary>
    public static double TemperatureForShare(Func<double, double[]> sampleAt, int n, double share = 0.75, double distance = 0.2,
        double lo = 1e-3, double hi = 10, int iterations = 40)
    {
        if (!(share > 0 && share <= 1)) throw new ArgumentOutOfRangeException(nameof(share), $"share must be in (0, 1], got {share}.");
        if (!(lo > 0 && hi > lo)) throw new ArgumentOutOfRangeException(nameof(lo), $"need 0 < lo < hi, got lo = {lo}, hi = {hi}.");
        if (ShareWithin(sampleAt(lo), n, distance) < share)
            throw new InvalidOperationException($"even at λ = {lo} fewer than {share:P0} of the samples lie within {distance} of a vertex.");
        if (ShareWithin(sampleAt(hi), n, distance) >= share) return hi;
        for (int i = 0; i < iterations; i++)
        {
            double mid = Math.Sqrt(lo * hi);
            if (ShareWithin(sampleAt(mid), n, distance) >= share) lo = mid; else hi = mid;
        }
        return lo;
    }
}
