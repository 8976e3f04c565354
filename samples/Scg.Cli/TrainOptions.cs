using System.CommandLine;
using System.Globalization;
using Scg.Models.Data;
using Scg.Models.Sbn;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Cli;

/// <summary>The options shared by train and compare, and their validation into a <see cref="RunPlan"/>.</summary>
sealed class TrainOptions
{
    public const string ToyModel = ToySbn.Spec, ImageModel = "200H~200H~784V";

    public readonly Option<string?> Model = new("--model")
    {
        Description = $"Layer spec in the Concrete paper's notation, top to bottom, e.g. 200H-784V, 200H~200H~784V, 392V-240H-240H-392V: '-' a linear map, '~' two hidden layers (of --hidden-units) then linear. Widths between tildes name the hidden layers, generative direction: 30H~256~512~784V maps 30 latents through 256 and 512 units to 784 pixels, and the inference network mirrors it (784-512-256-30) [default: {ToyModel} for sbn-toy, {ImageModel} for mnist and fashion-mnist]",
    };
    public readonly Option<int> Samples = new("--samples", "-m") { Description = "m: samples per data point in the training bound L_m", DefaultValueFactory = _ => 1 };
    public readonly Option<string> Temperature = new("--temperature")
    {
        Description = "λ1, the posterior (sampling) temperature of relaxed nodes: a number > 0 or a schedule exp:λ0,k,λmin (λ = max(λmin, λ0·e^(-k·step)))",
        DefaultValueFactory = _ => "0.6667",
    };
    public readonly Option<string> PriorTemperature = new("--prior-temperature")
    {
        Description = "λ2, the temperature of the prior densities in the relaxed bound: a number > 0 or exp:λ0,k,λmin",
        DefaultValueFactory = _ => "0.5",
    };
    public readonly Option<double> LearningRate = new("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 3e-4 };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "L2 weight decay added to the gradient", DefaultValueFactory = _ => 0.0 };
    public readonly Option<double> LearningRateDecay = new("--lr-decay")
    {
        Description = "k of an inverse-time decay of the learning rate: after t steps it is max(--lr-min, lr / (1 + k·t)), as the IGR paper's code trains (k = 0.001, floor 0.0001); 0 keeps it constant",
        DefaultValueFactory = _ => 0.0,
    };
    public readonly Option<double> MinimumLearningRate = new("--lr-min") { Description = "The floor of the decayed learning rate (--lr-decay), at most --lr", DefaultValueFactory = _ => 0.0 };
    public readonly Option<int> Steps = new("--steps") { Description = "Training steps (total, counting steps of a resumed run, which keeps its checkpoint's total unless this is given)", DefaultValueFactory = _ => 10_000 };
    public readonly Option<int> BatchSize = new("--batch-size") { Description = "Data points per minibatch", DefaultValueFactory = _ => 64 };
    public readonly Option<ulong> Seed = new("--seed") { Description = "Seed of every random choice (initialization, batches, samples)", DefaultValueFactory = _ => 1UL };
    public readonly Option<string> Data = new("--data") { Description = $"Data set: {string.Join(", ", DataSets.Names)} (sbn-toy is embedded; its true NLL is known)", DefaultValueFactory = _ => ToySbn.Name };
    public readonly Option<string?> DataDir = DataDirOption();
    public readonly Option<string> Binarize = BinarizationOption();
    public readonly Option<int> Arity = new("--arity")
    {
        Description = "Categories n of a latent node: with --encoding corners a power of two (2 = binary units, 4, 8, …); with --encoding onehot any n ≥ 2",
        DefaultValueFactory = _ => 2,
    };
    public readonly Option<string> Encoding = new("--encoding")
    {
        Description = "What a latent node passes on: corners (of {-1,1}^log2 n; a layer 'H' is that many units, log2 n per node) or onehot (an n-way one-hot vector; a layer 'H' is that many categorical nodes, as in a discrete VAE)",
        DefaultValueFactory = _ => "corners",
    };
    public readonly Option<string> Prior = new("--prior")
    {
        Description = "Prior over the top latent layer of a density model: learned (trained logits) or uniform (fixed, as in a discrete VAE)",
        DefaultValueFactory = _ => "learned",
    };
    public readonly Option<int> HiddenUnits = new("--hidden-units") { Description = "Width of the two hidden layers of a bare '~' connection; 0 = the width of the preceding stochastic layer", DefaultValueFactory = _ => 0 };
    public readonly Option<string> Activation = new("--activation") { Description = "Nonlinearity of the hidden layers of '~' connections: tanh (the Concrete paper) or relu (the IGR paper)", DefaultValueFactory = _ => "tanh" };
    public readonly Option<string> Kl = new("--kl")
    {
        Description = "KL terms of the relaxed bound: sampled (log p(h) − log q(h) at the draw) or analytic (closed form through IGR's Gaussians, as the IGR paper trains; igr with m = 1 only)",
        DefaultValueFactory = _ => "sampled",
    };
    public readonly Option<string> RelaxedOutput = new("--relaxed-output")
    {
        Description = "What relaxed categorical nodes (concrete, igr; --encoding onehot) pass on: simplex (the point on the simplex, as the Concrete paper) or log (its logarithm, the ExpConcrete draw, as the IGR paper's code feeds its decoder) or gaussian-log (igr only: log softmax(y/τ) over a node's n − 1 Gaussian coordinates and 0 for the n-th, as the IGR paper's VAE code feeds its decoder, without softmax++'s δ); with either log output the model has no discrete counterpart, and validation and test bounds score the relaxed model",
        DefaultValueFactory = _ => "simplex",
    };
    public readonly Option<string> IgrScale = new("--igr-scale")
    {
        Description = "The scale of IGR's Gaussians (--estimator igr): learned (a mean and a log-scale per dimension, as the IGR paper's text describes) or unit (σ held at 1, only the means learned, as its structured-prediction code does; not with --prior uniform, whose fit needs σ0)",
        DefaultValueFactory = _ => "learned",
    };
    public readonly Option<string> IgrPrior = new("--igr-prior")
    {
        Description = "The Gaussian N(μ0, σ0²) of every coordinate of IGR's uniform prior (--estimator igr --prior uniform): fit (fitted to the uniform distribution by IGR Eq. 20 at the training τ, as the paper's text describes), code (μ0 = log(1/8), σ0 = e − 1 at every τ, as the paper's VAE code has it) or MU,SIGMA (e.g. -2.08,1.72)",
        DefaultValueFactory = _ => "fit",
    };
    public readonly Option<int> EvalSamples = new("--eval-samples") { Description = "k of the final test bound L_k on the discrete graph (1 to 50000)", DefaultValueFactory = _ => 1000 };
    public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Steps between validation passes (L_10 on up to 2,000 valid rows) and checkpoints; 0 = a tenth of --steps", DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (Option o in (Option[])[Model, Samples, Temperature, PriorTemperature, LearningRate, WeightDecay, LearningRateDecay, MinimumLearningRate, Steps, BatchSize, Seed, Data, DataDir, Binarize, Arity, Encoding, Prior, HiddenUnits, Activation, Kl, RelaxedOutput, IgrScale, IgrPrior, EvalSamples, EvalEvery])
            command.Options.Add(o);
    }

    /// <summary>
    /// Options common to every run of a command, validated; the data set is loaded (or a one-line error raised).
    /// <paramref name="Model"/> holds the model options that do not depend on the estimator.
    /// </summary>
    public sealed record Common(string DataName, DataSplits Data, LayerSpec Spec, SbnOptions Model, NodeSettings Nodes, TrainSettings Settings,
        int Steps, ulong Seed, int EvalSamples, int EvalEvery);

    /// <summary>
    /// Validates the options; with <paramref name="resume"/>, options not given on the command line take the
    /// checkpoint's values (steps, eval samples and eval interval too, when the checkpoint records them).
    /// </summary>
    public Common Validate(ParseResult p, CheckpointHeader? resume = null)
    {
        T Get<T>(Option<T> o, Func<CheckpointHeader, T> fromCheckpoint) =>
            resume is not null && !IsExplicit(p, o) ? fromCheckpoint(resume) : p.GetValue(o)!;
        int GetRun(Option<int> o, Func<RunSchedule, int> fromCheckpoint) =>
            resume?.Schedule is { } s && !IsExplicit(p, o) ? fromCheckpoint(s) : p.GetValue(o);

        string dataName = Get(Data, h => h.Data);
        if (!DataSets.Names.Contains(dataName))
            throw new UsageException($"unknown data set '{dataName}'; expected one of: {string.Join(", ", DataSets.Names)}.");
        var binarization = ParseBinarization(Get(Binarize, h => h.Binarization.ToString().ToLowerInvariant()), dataName);
        string specText = Get(Model, h => h.Spec) ?? (dataName == ToySbn.Name ? ToyModel : ImageModel);
        var spec = ParseSpec(specText);
        var encoding = ParseEncoding(Get(Encoding, h => h.Encoding == NodeEncoding.OneHot ? "onehot" : "corners"));
        int arity = Get(Arity, h => h.Arity);
        ValidateArity(spec, arity, encoding);
        bool uniformPrior = ParsePrior(Get(Prior, h => h.Options.UniformPrior ? "uniform" : "learned"), spec);
        int hidden = Get(HiddenUnits, h => h.Options.HiddenUnits);
        if (hidden < 0) throw new UsageException($"--hidden-units must be ≥ 0 (0 = the width of the preceding stochastic layer), got {hidden}.");
        string activationText = Get(Activation, h => h.Options.Activation.ToString().ToLowerInvariant());
        var activation = activationText switch
        {
            "tanh" => Scg.Autodiff.Layers.Activation.Tanh,
            "relu" => Scg.Autodiff.Layers.Activation.Relu,
            _ => throw new UsageException($"--activation must be tanh or relu, got '{activationText}'."),
        };
        string klText = Get(Kl, h => h.Options.AnalyticKl ? "analytic" : "sampled");
        if (klText is not ("sampled" or "analytic")) throw new UsageException($"--kl must be sampled or analytic, got '{klText}'.");
        if (klText == "analytic" && spec.IsConditional) throw new UsageException($"--kl analytic needs a density model; '{spec}' is conditional (structured prediction has no KL).");
        int m = Get(Samples, h => h.Samples);
        if (m < 1) throw new UsageException($"--samples (m) must be ≥ 1, got {m}.");
        var posterior = ParseTemperature("--temperature", Get(Temperature, h => h.PosteriorTemperature));
        var prior = ParseTemperature("--prior-temperature", Get(PriorTemperature, h => h.PriorTemperature));
        double lr = Get(LearningRate, h => h.LearningRate), wd = Get(WeightDecay, h => h.WeightDecay);
        if (!(lr > 0 && double.IsFinite(lr))) throw new UsageException($"--lr must be a number > 0, got {Inv(lr)}.");
        if (!(wd >= 0 && double.IsFinite(wd))) throw new UsageException($"--weight-decay must be a number ≥ 0, got {Inv(wd)}.");
        double decay = Get(LearningRateDecay, h => h.LearningRateDecay), floor = Get(MinimumLearningRate, h => h.MinimumLearningRate);
        if (!(decay >= 0 && double.IsFinite(decay))) throw new UsageException($"--lr-decay must be a number ≥ 0, got {Inv(decay)}.");
        if (!(floor >= 0 && floor <= lr)) throw new UsageException($"--lr-min must be a number from 0 to --lr ({Inv(lr)}), got {Inv(floor)}.");
        int batch = Get(BatchSize, h => h.BatchSize);
        int steps = GetRun(Steps, s => s.Steps), k = GetRun(EvalSamples, s => s.EvalSamples), every = GetRun(EvalEvery, s => s.EvalEvery);
        if (steps < 1) throw new UsageException($"--steps must be ≥ 1, got {steps}.");
        if (batch < 1) throw new UsageException($"--batch-size must be ≥ 1, got {batch}.");
        ValidateEvalSamples("--eval-samples", k);
        if (every < 0) throw new UsageException($"--eval-every must be ≥ 0 (0 = a tenth of --steps), got {every}.");
        var data = LoadData(dataName, binarization, p.GetValue(DataDir));
        ValidateSpecFitsData(spec, data);
        if (batch > data.Train.Rows) throw new UsageException($"--batch-size {batch} exceeds the {data.Train.Rows} training rows of {dataName}.");
        var settings = new TrainSettings { Samples = m, BatchSize = batch, LearningRate = lr, WeightDecay = wd, LearningRateDecay = decay, MinimumLearningRate = floor };
        string outputText = Get(RelaxedOutput, h => RelaxedOutputText(h.RelaxedOutput));
        var relaxedOutput = outputText switch
        {
            "simplex" => Scg.Stochastic.Graph.RelaxedOutput.Simplex,
            "log" => Scg.Stochastic.Graph.RelaxedOutput.LogSimplex,
            "gaussian-log" => Scg.Stochastic.Graph.RelaxedOutput.GaussianLogSoftmax,
            _ => throw new UsageException($"--relaxed-output must be simplex, log or gaussian-log, got '{outputText}'."),
        };
        if (relaxedOutput != Scg.Stochastic.Graph.RelaxedOutput.Simplex && encoding != NodeEncoding.OneHot)
            throw new UsageException($"--relaxed-output {outputText} needs --encoding onehot (categorical nodes); binary and corner nodes pass their point on.");
        string scaleText = Get(IgrScale, h => h.IgrScale.ToString().ToLowerInvariant());
        var igrScale = scaleText switch
        {
            "learned" => Scg.Stochastic.Graph.IgrScale.Learned,
            "unit" => Scg.Stochastic.Graph.IgrScale.Unit,
            _ => throw new UsageException($"--igr-scale must be learned or unit, got '{scaleText}'."),
        };
        if (igrScale == Scg.Stochastic.Graph.IgrScale.Unit && uniformPrior)
            throw new UsageException("--igr-scale unit holds IGR's σ at 1, but --prior uniform fits the prior's σ0 (IGR Eq. 20): use --prior learned, or --igr-scale learned.");
        var igrPrior = ParseIgrPrior("--igr-prior", Get(IgrPrior, h => IgrPriorText(h.IgrPrior)));
        if (igrPrior is not null && !uniformPrior)
            throw new UsageException("--igr-prior sets the Gaussian of IGR's uniform prior; it needs --prior uniform (a learned prior has its own parameters).");
        var nodes = new NodeSettings
        {
            Arity = arity, Encoding = encoding, PosteriorTemperature = posterior, PriorTemperature = prior,
            IgrDelta = resume?.IgrDelta ?? Scg.Stochastic.Distributions.Igr.PaperDelta, IgrScale = igrScale, RelaxedOutput = relaxedOutput, IgrPrior = igrPrior,
        };
        var model = new SbnOptions { UniformPrior = uniformPrior, HiddenUnits = hidden, Activation = activation, AnalyticKl = klText == "analytic" };
        return new Common(dataName, data, spec, model, nodes, settings, steps, Get(Seed, h => h.Seed), k, every == 0 ? Math.Max(1, steps / 10) : every);
    }

    /// <summary>The --relaxed-output text of <paramref name="output"/>.</summary>
    public static string RelaxedOutputText(Scg.Stochastic.Graph.RelaxedOutput output) => output switch
    {
        Scg.Stochastic.Graph.RelaxedOutput.LogSimplex => "log",
        Scg.Stochastic.Graph.RelaxedOutput.GaussianLogSoftmax => "gaussian-log",
        _ => "simplex",
    };

    /// <summary>True when the option was given on the command line (not just defaulted).</summary>
    public static bool IsExplicit(ParseResult p, Option o) => p.GetResult(o) is { Implicit: false };

    /// <summary>A plan for one estimator (with its own m) on the common settings.</summary>
    public static RunPlan Plan(Common c, EstimatorChoice choice, int samples, string? outDir, string label)
    {
        if (samples < choice.MinimumSamples)
            throw new UsageException($"{choice.Name} needs m ≥ {choice.MinimumSamples} samples per data point, got m = {samples}; pass -m 5 (or vimco:5 in --estimators), or use nvil for m = 1.");
        var options = c.Model with { BaselineUnits = choice.NeedsBaseline ? 100 : 0 };
        if (c.Nodes.RelaxedOutput == Scg.Stochastic.Graph.RelaxedOutput.GaussianLogSoftmax && choice.Name != "igr")
            throw new UsageException($"--relaxed-output gaussian-log reads IGR's Gaussian coordinates; it needs --estimator igr, got --estimator {choice.Name}.");
        if (c.Nodes.RelaxedOutput != Scg.Stochastic.Graph.RelaxedOutput.Simplex && choice.Name is not ("concrete" or "igr"))
            throw new UsageException($"--relaxed-output log needs a relaxed estimator (concrete or igr), got --estimator {choice.Name}.");
        if (c.Nodes.IgrScale != Scg.Stochastic.Graph.IgrScale.Learned && choice.Name != "igr")
            throw new UsageException($"--igr-scale unit sets the scale of IGR's Gaussians; it needs --estimator igr, got --estimator {choice.Name}.");
        if (c.Nodes.IgrPrior is not null && choice.Name != "igr")
            throw new UsageException($"--igr-prior sets the Gaussian of IGR's uniform prior; it needs --estimator igr, got --estimator {choice.Name}.");
        var family = choice.Family(c.Nodes);
        if (options.AnalyticKl && (!family.HasClosedFormKl || samples != 1))
            throw new UsageException($"--kl analytic is the closed-form KL of IGR's Gaussians with one sample per data point; got --estimator {choice.Name} with m = {samples}.");
        if (family is IgrNodes<float> && options.UniformPrior && !family.Layout.IsBinary && family.Layout.Encoding == NodeEncoding.Corners)
            throw new UsageException($"{choice.Name} with --prior uniform fits a uniform prior per categorical node: expected --encoding onehot or --arity 2, got --encoding corners with --arity {family.Layout.Arity}.");
        return new RunPlan
        {
            DataName = c.DataName, Data = c.Data, Spec = c.Spec, Options = options, Nodes = c.Nodes, Family = family,
            Choice = choice, Settings = c.Settings with { Samples = samples }, Steps = c.Steps, Seed = c.Seed,
            EvalSamples = c.EvalSamples, EvalEvery = c.EvalEvery, OutDir = outDir, Label = label,
        };
    }

    // ---- validation helpers, shared by every command --------------------------------------------

    /// <summary>
    /// The value of an --igr-prior option: null for "fit", the paper's code's Gaussian for "code", else "MU,SIGMA" with
    /// MU finite and SIGMA finite and &gt; 0.
    /// </summary>
    public static IgrPriorGaussian? ParseIgrPrior(string option, string text)
    {
        if (text == "fit") return null;
        if (text == "code") return IgrPriorGaussian.PaperCode;
        string[] parts = text.Split(',');
        if (parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double mu) && double.IsFinite(mu)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double sigma) && sigma > 0 && double.IsFinite(sigma))
            return new IgrPriorGaussian(mu, sigma);
        throw new UsageException($"{option} must be fit, code or MU,SIGMA (a finite mean and a finite scale > 0, e.g. -2.08,1.72), got '{text}'.");
    }

    /// <summary>The --igr-prior text that gives <paramref name="prior"/> back: fit, or MU,SIGMA to the last bit.</summary>
    public static string IgrPriorText(IgrPriorGaussian? prior) =>
        prior is { } g ? string.Create(CultureInfo.InvariantCulture, $"{g.Location:R},{g.Scale:R}") : "fit";

    public static LayerSpec ParseSpec(string text)
    {
        try { return LayerSpec.Parse(text); }
        catch (FormatException e) { throw new UsageException(e.Message); }
    }

    public static EstimatorChoice ParseEstimator(string name)
    {
        var choice = EstimatorChoice.All.FirstOrDefault(e => e.Name == name);
        return choice ?? throw new UsageException($"unknown estimator '{name}'; expected one of: {string.Join(", ", EstimatorChoice.All.Select(e => e.Name))}.");
    }

    public static TemperatureSchedule ParseTemperature(string option, string text)
    {
        try { return TemperatureSchedule.Parse(text.Trim()); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UsageException($"{option} must be a number > 0 (e.g. 0.6667) or a schedule exp:λ0,k,λmin with λ0, λmin > 0 and k ≥ 0, got '{text}'.");
        }
    }

    public static NodeEncoding ParseEncoding(string text) => text switch
    {
        "corners" => NodeEncoding.Corners,
        "onehot" => NodeEncoding.OneHot,
        _ => throw new UsageException($"--encoding must be corners or onehot, got '{text}'."),
    };

    /// <summary>--prior: true for uniform; a uniform prior needs a density model, whose top latent layer has a prior.</summary>
    public static bool ParsePrior(string text, LayerSpec spec)
    {
        bool uniform = text switch
        {
            "learned" => false,
            "uniform" => true,
            _ => throw new UsageException($"--prior must be learned or uniform, got '{text}'."),
        };
        if (uniform && spec.IsConditional)
            throw new UsageException($"--prior uniform expects a density model (a top latent layer with a prior), got the structured-prediction model '{spec}', whose latent layers are conditioned on its input.");
        return uniform;
    }

    public static void ValidateArity(LayerSpec spec, int arity, NodeEncoding encoding)
    {
        if (encoding == NodeEncoding.OneHot)
        {
            if (arity < 2) throw new UsageException($"--arity must be ≥ 2 categories per one-hot node, got {arity}.");
            return;
        }
        if (arity < 2 || (arity & (arity - 1)) != 0)
            throw new UsageException($"--arity must be a power of two ≥ 2 (2, 4, 8, …) with --encoding corners, got {arity}; --encoding onehot takes any arity ≥ 2.");
        int bits = Corners.Bits(arity);
        foreach (var layer in spec.Layers.Where(l => !l.Visible))
            if (layer.Units % bits != 0)
                throw new UsageException($"layer {layer} of '{spec}' cannot hold {arity}-ary nodes of {bits} units each; use a width divisible by {bits}.");
    }

    public static void ValidateEvalSamples(string option, int k)
    {
        if (k is < 1 or > 50_000) throw new UsageException($"{option} (k) must be between 1 and 50000, got {k}.");
    }

    /// <summary>--data-dir: where downloaded data sets and their fixed binarizations are cached.</summary>
    public static Option<string?> DataDirOption() => new("--data-dir")
    {
        Description = "Data cache folder (MNIST as fetched by scripts/fetch-mnist.sh, fixed binarizations) [default: $SCG_DATA, else ~/.cache/scg]",
    };

    /// <summary>--binarization, shared by train, compare and reproduce.</summary>
    public static Option<string> BinarizationOption() => new("--binarization")
    {
        Description = "How the grayscale images of mnist and fashion-mnist become bits: fixed (drawn once and cached, as in the Concrete paper), dynamic (fresh training bits every batch; validation and test use the fixed bits) or threshold (every split, pixel intensity >= 1/2 is 1, as in the IGR paper's structured-prediction code)",
        DefaultValueFactory = _ => "fixed",
    };

    public static Binarization ParseBinarization(string text, string dataName)
    {
        var binarization = text switch
        {
            "fixed" => Binarization.Fixed,
            "dynamic" => Binarization.Dynamic,
            "threshold" => Binarization.Threshold,
            _ => throw new UsageException($"--binarization must be fixed, dynamic or threshold, got '{text}'."),
        };
        if (binarization != Binarization.Fixed && dataName == ToySbn.Name)
            throw new UsageException($"--binarization {text} expects a grayscale data set (mnist or fashion-mnist), got --data {ToySbn.Name}, whose rows are already bits; use --binarization fixed.");
        return binarization;
    }

    public static DataSplits LoadData(string name, Binarization binarization, string? cacheDir = null)
    {
        try { return DataSets.Load(name, binarization, cacheDir); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new UsageException($"data set '{name}' could not be loaded: {e.Message}");
        }
    }

    public static void ValidateSpecFitsData(LayerSpec spec, DataSplits data)
    {
        int features = data.Train.Features;
        if (spec.IsConditional)
        {
            int inF = spec.Layers[0].Units, outF = spec.Layers[^1].Units;
            if (inF + outF != features)
                throw new UsageException($"structured-prediction model '{spec}' reads {inF} context + {outF} output features, but {data.Name} rows have {features}; expected first and last layers summing to {features} (e.g. {features / 2}V-…-{features - features / 2}V).");
        }
        else if (spec.Layers[^1].Units != features)
            throw new UsageException($"model '{spec}' outputs {spec.Layers[^1].Units} features, but {data.Name} rows have {features}; expected a last layer of {features}V.");
    }

    static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
