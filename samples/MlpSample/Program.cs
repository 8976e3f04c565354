// Trains a small MLP with the Scg engine on generated data (three interleaved spirals) and prints the loss falling.
using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;

const int classes = 3, perClass = 200, steps = 1500;
var rng = new Rng(seed: 7);

// Data: points on three noisy spiral arms, labelled by arm.
int n = classes * perClass;
var x = Tensor<float>.Zeros(n, 2);
var labels = new int[n];
for (int c = 0; c < classes; c++)
    for (int i = 0; i < perClass; i++)
    {
        int row = c * perClass + i;
        double r = (double)i / perClass, angle = c * 2 * Math.PI / classes + 4 * r + 0.2 * rng.NextNormal();
        x.Span[row * 2] = (float)(r * Math.Sin(angle));
        x.Span[row * 2 + 1] = (float)(r * Math.Cos(angle));
        labels[row] = c;
    }
var targets = Ops.OneHot<float>(labels, classes);

var model = new Mlp<float>(rng, [2, 64, 64, classes], Activation.Tanh);
var optimizer = new Adam<float>(new ParameterCollection<float>(model.Parameters()), learningRate: 1e-2);
var arena = new StepArena<float>();

for (int step = 1; step <= steps; step++)
{
    float loss, accuracy;
    using (arena.Begin())
    {
        optimizer.ZeroGrad();
        var logits = model.Forward(x);
        var nll = -(targets * logits.LogSoftmax()).Sum(-1).Mean();
        loss = nll.Item();
        nll.Backward();
        optimizer.Step();
        accuracy = Accuracy(logits.Span, labels, classes);
    }
    if (step == 1 || step % 150 == 0)
        Console.WriteLine($"step {step,5}  loss {loss:F4}  train accuracy {accuracy:P1}");
}

static float Accuracy(ReadOnlySpan<float> logits, int[] labels, int classes)
{
    int correct = 0;
    for (int r = 0; r < labels.Length; r++)
    {
        var row = logits.Slice(r * classes, classes);
        int best = 0;
        for (int k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
        if (best == labels[r]) correct++;
    }
    return (float)correct / labels.Length;
}
