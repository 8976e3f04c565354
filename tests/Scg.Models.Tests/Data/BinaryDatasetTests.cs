using Scg.Autodiff;
using Scg.Models.Data;

namespace Scg.Models.Tests.Data;

public sealed class BinaryDatasetTests
{
    static BinaryDataset Bits(int rows, int features, ulong seed) =>
        BinaryDataset.FromBits(FixedBinarization.Draw(TestFiles.Pixels(rows * features, seed), seed), rows, features);

    [Fact]
    public void CopyBatchCopiesTheRowsInOrder()
    {
        BinaryDataset data = Bits(10, 6, seed: 1);
        int[] rows = [7, 0, 7];
        var dest = new float[rows.Length * 6];

        data.CopyBatch(rows, dest);

        for (int b = 0; b < rows.Length; b++)
            Assert.Equal(data.Row(rows[b]).ToArray(), dest.AsSpan(b * 6, 6).ToArray());
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        BinaryDataset data = Bits(10, 6, seed: 1);

        Assert.Contains("need 12", Assert.Throws<ArgumentException>("dest", () => data.CopyBatch([1, 2], new float[11])).Message);
        Assert.Contains("rowIndices[1] is 10", Assert.Throws<ArgumentOutOfRangeException>("rowIndices", () => data.CopyBatch([1, 10], new float[12])).Message);
        Assert.Contains("bits[7] (row 1, feature 3) is 0.5",
            Assert.Throws<ArgumentException>("bits", () => BinaryDataset.FromBits([0, 0, 0, 0, 0, 0, 0, 0.5f], 2, 4)).Message);
        Assert.Contains("is NaN", Assert.Throws<ArgumentException>("intensities", () => BinaryDataset.FromIntensities([0, float.NaN], 1, 2)).Message);
        Assert.Contains("need 8", Assert.Throws<ArgumentException>("bits", () => BinaryDataset.FromBits(new float[7], 2, 4)).Message);
        Assert.Contains("3×2 does not match 4", Assert.Throws<ArgumentException>(() => BinaryDataset.FromBits(new float[8], 2, 4, 3, 2)).Message);
    }

    [Fact]
    public void DynamicBatchesDrawFreshBitsFromTheRng()
    {
        const int features = 2000;
        var p = new float[2 * features];
        for (int j = 0; j < features; j++) (p[j], p[features + j]) = (j % 2, 0.25f);
        BinaryDataset data = BinaryDataset.FromIntensities(p, 2, features);
        var first = new float[2 * features];
        var second = new float[2 * features];
        var again = new float[2 * features];

        var rng = new Rng(9);
        data.CopyBatch([0, 1], first, rng);
        data.CopyBatch([0, 1], second, rng);
        data.CopyBatch([0, 1], again, new Rng(9));

        Assert.Equal(Binarization.Dynamic, data.Binarization);
        Assert.Equal(first, again);
        Assert.NotEqual(first, second);
        Assert.Equal(p[..features], first[..features]); // intensities 0 and 1 give those bits
        Assert.InRange(first[features..].Average(), 0.25 - 0.05, 0.25 + 0.05); // 2,000 draws: 5 standard deviations
        Assert.Throws<ArgumentNullException>("rng", () => data.CopyBatch([0], new float[features]));
    }

    /// <summary>
    /// A dynamic batch's bit j of row b is NextSingle() &lt; p, the generator drawing once per value in order, for a
    /// short batch and for one long enough to fill its draws in parts on the worker pool.
    /// </summary>
    [Theory]
    [InlineData(3, 7)]
    [InlineData(12, 784)]
    public void DynamicBitsAreTheGeneratorsDrawsInOrderBelowTheIntensities(int rows, int features)
    {
        var rng = new Rng(5);
        var p = new float[10 * features];
        for (int i = 0; i < p.Length; i++) p[i] = rng.NextSingle();
        BinaryDataset data = BinaryDataset.FromIntensities(p, 10, features);
        int[] batch = [.. Enumerable.Range(0, rows).Select(b => (3 * b + 1) % 10)];
        var bits = new float[rows * features];
        var draws = new Rng(11);
        data.CopyBatch(batch, bits, draws);

        var reference = new Rng(11);
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < features; j++)
                Assert.Equal(reference.NextSingle() < p[batch[b] * features + j] ? 1f : 0f, bits[b * features + j]);
        Assert.Equal(reference.NextUInt64(), draws.NextUInt64());   // and the generator is left where one-by-one draws leave it
    }

    [Fact]
    public void FeatureMeansAreTheColumnMeans()
    {
        BinaryDataset data = BinaryDataset.FromBits([1, 0, 1, 1, 0, 0, 1, 0], 4, 2);
        Assert.Equal([0.75f, 0.25f], data.FeatureMeans());
    }

    [Fact]
    public void EachEpochIsASeededPermutationCutIntoFullBatches()
    {
        BinaryDataset data = Bits(23, 4, seed: 2);
        var schedule = new BatchSchedule(data, batchSize: 5, epoch => new Rng(4, (int)epoch));
        Assert.Equal(4, schedule.BatchesPerEpoch);

        var epochs = new List<int[]>();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = new List<int>();
            for (int b = 0; b < schedule.BatchesPerEpoch; b++) seen.AddRange(schedule.Indices(epoch * schedule.BatchesPerEpoch + b).ToArray());
            Assert.Equal(seen.Count, seen.Distinct().Count());
            Assert.All(seen, r => Assert.InRange(r, 0, 22));
            epochs.Add([.. seen]);
        }
        Assert.NotEqual(epochs[0], epochs[1]);
    }

    /// <summary>A batch depends on its step alone: asked out of order, or by a fresh schedule (a resumed run), it is the same.</summary>
    [Fact]
    public void ABatchIsAFunctionOfItsStep()
    {
        BinaryDataset data = Bits(23, 4, seed: 2);
        var first = new BatchSchedule(data, 5, epoch => new Rng(4, (int)epoch));
        int[] late = first.Indices(9).ToArray(), early = first.Indices(1).ToArray();
        Assert.Equal(late, new BatchSchedule(data, 5, epoch => new Rng(4, (int)epoch)).Indices(9).ToArray());
        Assert.Equal(early, new BatchSchedule(data, 5, epoch => new Rng(4, (int)epoch)).Indices(1).ToArray());
        Assert.NotEqual(early, late);
    }

    [Fact]
    public void FillCopiesTheBatchOfItsIndices()
    {
        BinaryDataset data = Bits(12, 3, seed: 3);
        var schedule = new BatchSchedule(data, batchSize: 4, epoch => new Rng(5, (int)epoch));
        var dest = new float[4 * 3];
        var expected = new float[4 * 3];

        int[] rows = schedule.Fill(2, dest).ToArray();

        data.CopyBatch(rows, expected);
        Assert.Equal(expected, dest);
        Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => new BatchSchedule(data, 13, epoch => new Rng(5)));
    }
}
