namespace Scg.Cli;

/// <summary>Test and train NLL of one (model, m) cell of the Concrete paper, for Concrete and VIMCO (NVIL when m = 1).</summary>
sealed record PaperCell(double ConcreteTest, double VimcoTest, double ConcreteTrain, double VimcoTrain);

/// <summary>
/// MNIST results of Maddison, Mnih &amp; Teh (2017), "The Concrete Distribution": Table 1 (density estimation, test
/// NLL estimated with L_50,000) and the table of Figure 4 (structured prediction, L_100^SP), copied from
/// shared/papers/concrete-distribution-maddison-mnih-teh.md.
/// </summary>
static class PaperResults
{
    public static readonly IReadOnlyList<string> DensityModels = ["200H-784V", "200H-200H-784V", "200H~784V", "200H~200H~784V"];
    public static readonly IReadOnlyList<string> StructuredModels = ["392V-240H-240H-392V", "392V-240H-240H-240H-392V"];
    public static readonly IReadOnlyList<int> Samples = [1, 5, 50];

    static readonly Dictionary<(string, int), PaperCell> Cells = new()
    {
        [("200H-784V", 1)] = new(107.3, 104.4, 107.5, 104.2),
        [("200H-784V", 5)] = new(104.9, 101.9, 104.9, 101.5),
        [("200H-784V", 50)] = new(104.3, 98.8, 104.2, 98.3),
        [("200H-200H-784V", 1)] = new(102.1, 92.9, 102.3, 91.7),
        [("200H-200H-784V", 5)] = new(99.9, 91.7, 100.0, 90.8),
        [("200H-200H-784V", 50)] = new(99.5, 90.7, 99.4, 89.7),
        [("200H~784V", 1)] = new(92.1, 93.8, 91.2, 91.5),
        [("200H~784V", 5)] = new(89.5, 91.4, 88.1, 88.6),
        [("200H~784V", 50)] = new(88.5, 89.3, 86.4, 86.5),
        [("200H~200H~784V", 1)] = new(87.9, 88.4, 86.5, 85.8),
        [("200H~200H~784V", 5)] = new(86.3, 86.4, 84.1, 82.5),
        [("200H~200H~784V", 50)] = new(85.7, 85.5, 83.1, 81.8),
        [("392V-240H-240H-392V", 1)] = new(58.5, 61.4, 54.2, 59.3),
        [("392V-240H-240H-392V", 5)] = new(54.3, 54.5, 49.2, 52.7),
        [("392V-240H-240H-392V", 50)] = new(53.4, 51.8, 48.2, 49.6),
        [("392V-240H-240H-240H-392V", 1)] = new(56.3, 59.7, 51.6, 58.4),
        [("392V-240H-240H-240H-392V", 5)] = new(52.7, 53.5, 46.9, 51.6),
        [("392V-240H-240H-240H-392V", 50)] = new(52.0, 50.2, 45.9, 47.9),
    };

    public static PaperCell Cell(string model, int m) => Cells[(model, m)];
}
