using System.Text;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Workflows;

/// <summary>Passes an engine build's progress on and keeps its text output (the <c>stream</c> members), for markers the build prints.</summary>
internal sealed class CapturedBuildOutput(IProgress<EngineProgress> inner) : IProgress<EngineProgress>
{
    private readonly StringBuilder _text = new();

    /// <summary>Every <c>stream</c> chunk so far, concatenated.</summary>
    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public void Report(EngineProgress value)
    {
        if (value.Stream is { } stream)
        {
            lock (_text)
            {
                _text.Append(stream);
            }
        }

        inner.Report(value);
    }
}
