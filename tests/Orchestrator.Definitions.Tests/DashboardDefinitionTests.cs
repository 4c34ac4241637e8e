namespace Orchestrator.Definitions.Tests;

/// <summary><c>daemon.dashboard</c> of orchestrator.yaml: whether the dashboard's reads need a token.</summary>
public sealed class DashboardDefinitionTests
{
    private static string ConfigWith(string daemon) => TestWorkspace.Config + "\n" + daemon.ReplaceLineEndings("\n") + "\n";

    [Theory]
    [InlineData("daemon:\n  concurrency: 2", false)]
    [InlineData("daemon:\n  dashboard: {}", false)]
    [InlineData("daemon:\n  dashboard:\n    public-read: false", false)]
    [InlineData("daemon:\n  dashboard:\n    public-read: true", true)]
    public async Task LoadAsync_DashboardPublicRead_OffUnlessSaid(string daemon, bool expected)
    {
        // Given a daemon section with or without daemon.dashboard.public-read
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", ConfigWith(daemon));

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then public read is on only when it says true
        Assert.Equal(expected, config.Daemon.DashboardPublicRead);
    }

    [Theory]
    [InlineData("daemon:\n  dashboard:\n    public-read: yes-please", "public-read: yes-please", "must be true or false", "'public-read: true' or 'public-read: false'")]
    [InlineData("daemon:\n  dashboard:\n    public: true", "public: true", "public", "public-read")]
    public async Task LoadAsync_BadDashboardKey_RefusedAtItsLineWithFix(string daemon, string line, string inMessage, string inFix)
    {
        // Given a misspelt key or a value that is not a boolean
        using var ws = new TestWorkspace();
        var text = ConfigWith(daemon);
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the error points at the line and says how to fix it
        Assert.Equal(ws.ConfigPath, error.File);
        Assert.Equal(text.Split('\n').ToList().FindIndex(l => l.Contains(line, StringComparison.Ordinal)) + 1, error.Line);
        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
        Assert.Contains(inFix, (error.Fix ?? string.Empty) + error.Message, StringComparison.Ordinal);
    }
}
