using System.Globalization;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Cli;

/// <summary>Settings a run accepts but the method does not tolerate well: one warning line each on stderr, and the run goes on.</summary>
static class Warnings
{
    /// <summary>The lowest temperature the Concrete and IGR papers train with (the IGR paper's τ = 0.1; its Gumbel-Softmax comparisons go down to 0.1 as well).</summary>
    public const double LowestTemperature = 0.1;

    /// <summary>
    /// The highest temperature the Concrete paper uses (λ = 1, its best posterior temperature for 4-ary nodes,
    /// appendix C.4 and D); for binary nodes it is also the bound 1/(n−1) under which the relaxed density has no mode
    /// inside the simplex (Proposition 1(d)).
    /// </summary>
    public const double HighestTemperature = 1;

    /// <summary>
    /// Warns when a relaxed estimator's temperature, over the steps this run takes, leaves the range the papers
    /// discuss: [<see cref="LowestTemperature"/>, <see cref="HighestTemperature"/>]. Score-function estimators ignore
    /// the temperatures; IGR uses only λ1; the prior temperature λ2 matters only where a density model has a prior.
    /// </summary>
    public static void Temperatures(Ui ui, string command, RunPlan plan)
    {
        if (plan.Family.Gradient != NodeGradient.Pathwise) return;
        Check(ui, command, plan, "--temperature", "λ1", plan.Nodes.PosteriorTemperature);
        if (plan.Family is ConcreteNodes<float> && !plan.Spec.IsConditional)
            Check(ui, command, plan, "--prior-temperature", "λ2", plan.Nodes.PriorTemperature);
    }

    static void Check(Ui ui, string command, RunPlan plan, string option, string symbol, TemperatureSchedule schedule)
    {
        // the schedules (constant, exponential decay) never rise: the first step has the highest temperature, the last the lowest
        double first = schedule.At(0), last = schedule.At(plan.Steps - 1);
        string setting = schedule.ToString()!;
        string Reaching(double v) => v == first && v == last ? "" : FormattableString.Invariant($" (λ = {v:G4} at step {(v == first ? 1 : plan.Steps)})");
        string papers = plan.Family is IgrNodes<float>
            ? "the IGR paper uses τ = 0.1 to 0.5, Tables 1 and 3"
            : "the Concrete paper uses λ1 = 2/3, λ2 = 1/2 for binary nodes and λ from 2/5 to 1 for 4- and 8-ary ones, appendix C.4 and D.5";
        if (last < LowestTemperature)
            ui.Error.WriteLine($"{command}: warning: {plan.Label}: {option} {setting}{Reaching(last)} is below {Inv(LowestTemperature)}, the lowest temperature the papers train with " +
                $"({papers}): {symbol} this small makes relaxed samples all but discrete, so gradients vanish or blow up and the relaxed bound says little about the discrete one " +
                "(IGR paper, section 3).");
        if (first > HighestTemperature)
            ui.Error.WriteLine($"{command}: warning: {plan.Label}: {option} {setting}{Reaching(first)} is above {Inv(HighestTemperature)} ({papers}): " +
                $"only for λ ≤ 1/(n−1) does the relaxed density have no mode inside the simplex (Concrete paper, Proposition 1(d); 1 for binary nodes), " +
                "and a relaxation that prefers the interior trains a discrete model worse than its relaxed bound suggests (appendix C.4).");
    }

    static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
