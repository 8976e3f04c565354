using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>The estimators a model can be trained with, by their command-line names.</summary>
public sealed record EstimatorChoice(string Name, Relaxation Relaxation, bool GaussianParameters, bool NeedsBaseline)
{
    public static readonly IReadOnlyList<EstimatorChoice> All =
    [
        new("concrete", Relaxation.Concrete, false, false),
        new("reinforce", Relaxation.None, false, false),
        new("nvil", Relaxation.None, false, true),
        new("vimco", Relaxation.None, false, false),
        new("igr", Relaxation.Igr, true, false),
        new("st", Relaxation.StraightThrough, false, false),
    ];

    public static EstimatorChoice Parse(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown estimator '{name}'; expected one of: {string.Join(", ", All.Select(e => e.Name))}.", nameof(name));

    /// <summary>A fresh estimator (it may keep running statistics) for m samples per data point.</summary>
    public IEstimator<float> Create(int samples)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), $"m (samples per data point) must be ≥ 1, got {samples}.");
        return Name switch
        {
            "reinforce" => new ReinforceEstimator<float>(BaselineKind.MovingAverage),
            "nvil" => new ReinforceEstimator<float>(BaselineKind.Nvil),
            "vimco" => samples >= 2 ? new VimcoEstimator<float>() : throw new ArgumentOutOfRangeException(nameof(samples), "vimco needs m ≥ 2 samples per data point (use nvil for m = 1)."),
            _ => new PathwiseEstimator<float>(Name),
        };
    }
}
