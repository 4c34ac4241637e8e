using System.Diagnostics;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.State;

namespace Orchestrator.Registry.Tests.Faults;

/// <summary>How one promotion ended, as its caller saw it: done, or failed with a cause that is clear or not.</summary>
/// <param name="Succeeded">The copier returned / the CLI exited 0.</param>
/// <param name="Cause">The typed exception's message / the CLI's standard error; empty on success.</param>
/// <param name="Clear">
/// The failure came as one of Orchestrator's own typed errors (an <see cref="OrchestratorException"/>; through
/// the CLI: exit 1 with no "unexpected" failure and no stack trace).
/// </param>
internal sealed record PromotionAttempt(bool Succeeded, string Cause, bool Clear);

/// <summary>Runs one promotion of the suite's image in one repository, from the source proxy to the target proxy.</summary>
internal interface IPromoter
{
    /// <summary>How it promotes, for the figures: <c>copier</c> or <c>cli</c>.</summary>
    string Kind { get; }

    Task<PromotionAttempt> PromoteAsync(string repository);
}

/// <summary>Promotes through the copy engine in this process: a fresh factory and copier each time, so no mount hint or pooled connection carries over.</summary>
internal sealed class CopierPromoter(FaultSuiteFixture fixture, RegistryClientOptions options) : IPromoter
{
    public string Kind => "copier";

    public async Task<PromotionAttempt> PromoteAsync(string repository)
    {
        using var factory = new RegistryClientFactory(options: options);
        var copier = new ImageCopier(factory, options: options);
        try
        {
            var plan = await copier.PlanAsync(new CopyRequest(fixture.SourceProxy.Endpoint, repository, fixture.Image.Digest, fixture.TargetProxy.Endpoint, repository, [FaultSuiteFixture.Tag]));
            await copier.CopyAsync(plan);
            return new PromotionAttempt(true, string.Empty, true);
        }
        catch (OrchestratorException ex)
        {
            return new PromotionAttempt(false, $"{ex.GetType().Name}: {ex.Message}", true);
        }
        catch (Exception ex)
        {
            return new PromotionAttempt(false, $"{ex.GetType().Name}: {ex.Message}", false);
        }
    }
}

/// <summary>
/// Promotes as a user does: <c>orchestrator promote app --digest D --to production</c> as a child process, in a
/// throwaway workspace whose staging and production registries are the two proxies and whose state store holds a
/// passing validation of the digest (the gate a promotion checks first). Default client options, as shipped.
/// </summary>
internal sealed class CliPromoter : IPromoter, IDisposable
{
    private readonly FaultSuiteFixture _fixture;
    private readonly string _root = Directory.CreateTempSubdirectory("orchestrator-faults-cli-").FullName;
    private string? _repository;

    public CliPromoter(FaultSuiteFixture fixture) => _fixture = fixture;

    public string Kind => "cli";

    private string ConfigPath => Path.Combine(_root, "orchestrator.yaml");

    public async Task<PromotionAttempt> PromoteAsync(string repository)
    {
        if (_repository != repository)
        {
            await WriteWorkspaceAsync(repository);
        }

        var start = CliBinary.StartInfo(["promote", "app", "--digest", _fixture.Image.Digest.ToString(), "--to", "production", "--config", ConfigPath]);
        start.WorkingDirectory = _root;

        start.Environment.Remove("ORCHESTRATOR_URL");
        start.Environment["ORCHESTRATOR_ACTOR"] = "fault-suite";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new PromotionAttempt(false, "the CLI did not end within 3 minutes", false);
        }

        var error = await stderr;
        await stdout;
        if (process.ExitCode == 0)
        {
            return new PromotionAttempt(true, string.Empty, true);
        }

        var clear = process.ExitCode == 1
            && !error.Contains("unexpected", StringComparison.OrdinalIgnoreCase)
            && !error.Contains("   at ", StringComparison.Ordinal);
        // The error is the CLI's "orchestrator: …" line; progress and retry warnings come before it.
        var said = error.Split('\n').Where(l => l.StartsWith("orchestrator:", StringComparison.Ordinal)).ToList();
        return new PromotionAttempt(false, $"exit {process.ExitCode}: {(said.Count > 0 ? string.Join(" ", said) : error.Trim())}", clear);
    }

    private async Task WriteWorkspaceAsync(string repository)
    {
        _repository = repository;
        Directory.CreateDirectory(Path.Combine(_root, "base-images"));
        Directory.CreateDirectory(Path.Combine(_root, "pipelines"));
        await File.WriteAllTextAsync(ConfigPath, $"""
            stages: [staging, production]
            registries:
              staging: {"{"} url: http://{_fixture.SourceProxy.Endpoint.Host} {"}"}
              production: {"{"} url: http://{_fixture.TargetProxy.Endpoint.Host} {"}"}
            state:
              path: state/state.db
            """);
        await File.WriteAllTextAsync(Path.Combine(_root, "base-images", "deb.yaml"), """
            repository: base/deb
            default-variant: slim
            suite: bookworm
            variants:
              slim: { debootstrap-variant: minbase, slim: true }
            """);
        await File.WriteAllTextAsync(Path.Combine(_root, "pipelines", "app.yaml"), $"""
            name: app
            version: {FaultSuiteFixture.Tag}
            base: deb/slim
            repository: {repository}
            tags: ["{FaultSuiteFixture.Tag}"]
            """);

        // The promotion gate: a passing validation of this digest in staging.
        Directory.CreateDirectory(Path.Combine(_root, "state"));
        await using var state = new SqliteStateStore(Path.Combine(_root, "state", "state.db"));
        await state.InitializeAsync();
        var staged = ImageReference.Create(_fixture.SourceProxy.Endpoint.Host, repository, digest: _fixture.Image.Digest);
        await state.RecordValidationAsync(new ValidationRecord(
            0, "app", "staging", staged, true, [new TestResult("command", "seeded by the fault suite", true, "exit 0", TimeSpan.Zero)], "fault-suite", DateTimeOffset.UtcNow, TimeSpan.Zero));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A folder left in /tmp must not hide the test's own result.
        }
    }
}
