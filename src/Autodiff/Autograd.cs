namespace Scg.Autodiff;

/// <summary>Switches gradient recording on this thread.</summary>
public static class Autograd
{
    [ThreadStatic] static int t_noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope.</summary>
    public static bool IsRecording => t_noGradDepth == 0;

    /// <summary>Ops inside the scope record nothing and their results require no grad.</summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return default;
    }

    /// <summary>The scope <see cref="NoGrad"/> opens; disposing it ends the scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Ends the scope: recording resumes unless an enclosing scope is still open.</summary>
        public void Dispose() => t_noGradDepth--;
    }
}
