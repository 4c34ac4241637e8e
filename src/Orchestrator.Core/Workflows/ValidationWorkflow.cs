using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Workflows;

/// <summary>
/// Validates exactly one digest from the first stage: pulls it by digest, runs the pipeline's command
/// tests in locked-down containers (no network, every capability dropped, read-only root, bounded
/// memory and processes), checks files, metadata and size, and records every result. With <c>signing:</c>
/// in orchestrator.yaml a digest that passed is then signed in the first stage (cosign format, idempotent per key).
/// </summary>
public sealed partial class ValidationWorkflow(
    IWorkspaceAccessor workspace,
    IDockerEngine engine,
    IEngineCredentialSource engineCredentials,
    IRegistryClientFactory registries,
    IStateStore state,
    IJobReporter reporter,
    TimeProvider time,
    IActorProvider actor,
    Locks.InstalledPackagesTest installedPackages,
    Signing.SignatureWorkflow signatures,
    ILogger<ValidationWorkflow> logger)
{
    /// <summary>Output kept per stream in a test's detail; more is cut with a marker.</summary>
    public const int MaxOutputCharacters = 4096;

    /// <summary>Labels every container this workflow creates, so leftovers can be found and removed.</summary>
    public const string ContainerLabel = "io.orchestrator.validation";

    private readonly ILogger<ValidationWorkflow> _logger = logger;

    private OrchestratorConfig Config => workspace.Current.Config;

    /// <summary>Validates <paramref name="digest"/> of <paramref name="pipelineName"/> in the first stage.</summary>
    /// <returns>The result; <see cref="ValidationResult.Passed"/> is false when any test failed.</returns>
    /// <exception cref="InputException">No such pipeline.</exception>
    /// <exception cref="JobFailedException">The digest is not in the first stage, the engine failed, or signing the passed digest failed (the validation stays recorded).</exception>
    public async Task<ValidationResult> ValidateAsync(string pipelineName, Digest digest, CancellationToken cancellationToken = default)
    {
        var pipeline = workspace.Current.GetPipeline(pipelineName);
        var stage = Config.FirstStage;
        var reference = ImageReference.Create(stage.Registry.Host, pipeline.Repository, digest: digest);
        var started = Stopwatch.GetTimestamp();

        var registry = registries.Create(stage.Registry);
        if (await registry.HeadManifestAsync(pipeline.Repository, digest.ToString(), cancellationToken).ConfigureAwait(false) is null)
        {
            throw new JobFailedException(
                $"{reference} is not in {stage.Name}: validate a digest that 'orchestrator build {pipeline.Name}' printed");
        }

        reporter.Step($"pulling {reference}");
        var pullCredentials = await engineCredentials.GetAsync(stage.Registry, cancellationToken).ConfigureAwait(false);
        await engine.PullImageAsync(reference, pullCredentials, new ReporterProgress(reporter), cancellationToken).ConfigureAwait(false);
        var image = await engine.InspectImageAsync(reference.ToString(), cancellationToken).ConfigureAwait(false)
            ?? throw new JobFailedException($"the engine pulled {reference} but cannot inspect it; retry the validation");

        var results = new List<TestResult>();
        reporter.Step($"running {TestCount(pipeline)} test(s) on {digest.ToShortString()}");
        foreach (var test in pipeline.Validate.Commands)
        {
            results.Add(Report(await RunCommandTestAsync(reference, test, cancellationToken).ConfigureAwait(false)));
        }

        // python: the built-in checks of a Python runtime image (pinned versions, no compiler, no pip cache, no dev requirement).
        foreach (var test in PythonChecks.For(pipeline))
        {
            results.Add(Report(await RunCommandTestAsync(reference, test, cancellationToken).ConfigureAwait(false)));
        }

        if (pipeline.Validate.Files.Count > 0)
        {
            results.AddRange((await RunFileTestsAsync(reference, pipeline.Validate.Files, cancellationToken).ConfigureAwait(false)).Select(Report));
        }

        // Locks: dpkg's installed set must be exactly the lock's (base set plus closure).
        if (pipeline.Lock is { } pipelineLock)
        {
            results.Add(Report(DistrolessBase.IsDistroless(workspace.Current, pipeline.Base)
                ? await CheckDistrolessPackagesAsync(registry, pipeline.Repository, digest, pipelineLock, cancellationToken).ConfigureAwait(false)
                : await installedPackages.RunAsync(reference, pipelineLock, cancellationToken).ConfigureAwait(false)));
        }

        if (pipeline.Validate.Metadata is { } metadata)
        {
            results.Add(Report(CheckMetadata(image.Config, metadata)));
        }

        if (pipeline.Validate.MaxSizeMb is { } maxSizeMb)
        {
            results.Add(Report(CheckSize(image.Size, maxSizeMb)));
        }

        var passed = results.All(r => r.Passed);
        var record = new ValidationRecord(
            0, pipeline.Name, stage.Name, reference, passed, results, actor.Actor, time.GetUtcNow(), Stopwatch.GetElapsedTime(started));
        var id = await state.RecordValidationAsync(record, cancellationToken).ConfigureAwait(false);
        LogValidated(pipeline.Name, digest, passed, results.Count(r => !r.Passed));
        var result = new ValidationResult(pipeline.Name, reference, passed, results, id);
        return passed && Config.Signing is { } signing
            ? result with { Signature = await SignAsync(signing, stage, pipeline.Repository, reference, id, cancellationToken).ConfigureAwait(false) }
            : result;
    }

    // The validation is recorded first: a signing failure leaves it as it is and fails the job with what to fix.
    private async Task<Signing.SigningResult> SignAsync(
        SigningSettings signing, StageDefinition stage, string repository, ImageReference reference, long validationId, CancellationToken cancellationToken)
    {
        reporter.Step($"signing {reference.Digest!.ToShortString()} with {signing.Source}");
        try
        {
            using var key = signatures.LoadKey(signing);
            var signed = await signatures.SignAsync(stage.Registry, repository, reference.Digest!, key, cancellationToken).ConfigureAwait(false);
            reporter.Detail(signed.Added
                ? $"signature by key {signed.KeyFingerprint} added under {signed.Tag}"
                : $"already signed by key {signed.KeyFingerprint} under {signed.Tag}; nothing added");
            return signed;
        }
        catch (OrchestratorException ex)
        {
            throw new JobFailedException(
                $"{reference} passed validation (recorded as validation {validationId}) but signing it failed: {ex.Message}. " +
                $"Fix that, then validate it again to sign it", ex);
        }
    }

    /// <summary>
    /// How many results validating <paramref name="pipeline"/> gives, built-in checks included: its own
    /// command, file, metadata and size tests, the Python checks, and the lock's installed-set check. The
    /// count announced before the run is this one, so it is the count the run reports.
    /// </summary>
    public static int TestCount(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return pipeline.Validate.Count + PythonChecks.For(pipeline).Count + (pipeline.Lock is null ? 0 : 1);
    }

    private TestResult Report(TestResult result)
    {
        reporter.Event(ProgressEvent.TestEnded(result.Kind, result.Name, result.Passed, result.Duration, result.Passed ? null : FirstLine(result.Detail)));
        reporter.Detail($"{(result.Passed ? "PASS" : "FAIL")} {result.Kind} '{result.Name}'{(result.Passed ? string.Empty : ": " + FirstLine(result.Detail))}");
        return result;
    }

    private async Task<TestResult> RunCommandTestAsync(ImageReference reference, CommandTest test, CancellationToken cancellationToken)
    {
        reporter.Event(ProgressEvent.TestStarted("command", test.Name));
        var started = Stopwatch.GetTimestamp();
        var spec = new ContainerSpec(
            reference.ToString(),
            Entrypoint: [test.Run[0]],
            Cmd: test.Run.Skip(1).ToList(),
            ReadonlyRootfs: true,
            Tmpfs: new Dictionary<string, string> { ["/tmp"] = "rw,nosuid,nodev,size=64m" },
            Labels: new Dictionary<string, string> { [ContainerLabel] = reference.Digest!.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
            // The test's own clock, so a fake TimeProvider drives timeouts in tests.
            using var deadline = new CancellationTokenSource(test.Timeout, time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            long exitCode;
            try
            {
                exitCode = await engine.WaitContainerAsync(id, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await engine.KillContainerAsync(id, CancellationToken.None).ConfigureAwait(false);
                var partial = await engine.GetContainerLogsAsync(id, CancellationToken.None).ConfigureAwait(false);
                return new TestResult("command", test.Name, false,
                    $"timed out after {test.Timeout.TotalSeconds:0} s and was killed{Environment.NewLine}{FormatOutput(partial)}", Stopwatch.GetElapsedTime(started));
            }

            var logs = await engine.GetContainerLogsAsync(id, cancellationToken).ConfigureAwait(false);
            var failures = new List<string>();
            if (exitCode != test.ExpectExit)
            {
                failures.Add($"exit code {exitCode}, expected {test.ExpectExit}");
            }

            if (test.ExpectStdout is not null && !Matches(test.ExpectStdout, logs.Stdout))
            {
                failures.Add($"stdout does not match /{test.ExpectStdout}/");
            }

            if (test.ExpectStderr is not null && !Matches(test.ExpectStderr, logs.Stderr))
            {
                failures.Add($"stderr does not match /{test.ExpectStderr}/");
            }

            var summary = failures.Count == 0 ? $"exit code {exitCode}" : string.Join("; ", failures);
            return new TestResult("command", test.Name, failures.Count == 0, $"{summary}{Environment.NewLine}{FormatOutput(logs)}", Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<TestResult>> RunFileTestsAsync(ImageReference reference, IReadOnlyList<FileTest> tests, CancellationToken cancellationToken)
    {
        // One container, created and never started: the archive API reads its filesystem as the image has it.
        var spec = new ContainerSpec(
            reference.ToString(),
            Entrypoint: ["/nonexistent-never-started"],
            Labels: new Dictionary<string, string> { [ContainerLabel] = reference.Digest!.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        try
        {
            var results = new List<TestResult>();
            foreach (var test in tests)
            {
                var started = Stopwatch.GetTimestamp();
                var stat = await engine.StatContainerPathAsync(id, test.Path, cancellationToken).ConfigureAwait(false);
                var exists = stat is not null;
                var detail = stat is null
                    ? $"{test.Path} does not exist"
                    : $"{test.Path} exists ({(stat.IsDirectory ? "directory" : stat.IsSymlink ? $"symlink to {stat.LinkTarget}" : $"{stat.Size} bytes")})";
                var name = test.Exists ? $"{test.Path} exists" : $"{test.Path} is absent";
                results.Add(new TestResult("file", name, exists == test.Exists, detail, Stopwatch.GetElapsedTime(started)));
            }

            return results;
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // distroless: no dpkg-query to run; the status.d records are read from the image's layers instead, and compared the same way.
    private static async Task<TestResult> CheckDistrolessPackagesAsync(IRegistryClient registry, string repository, Digest digest, Locks.PipelineLock pipelineLock, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var records = await Locks.DpkgStatusDirectory.ReadRecordsAsync(registry, repository, digest, cancellationToken).ConfigureAwait(false);
        var result = Locks.InstalledPackagesTest.Compare(pipelineLock, Locks.DpkgStatusDirectory.ParseInstalled(records.Values));
        return result with { Detail = result.Detail + $" (read from {records.Count} {DistrolessBase.StatusDirectory} record(s))", Duration = Stopwatch.GetElapsedTime(started) };
    }

    /// <summary>Compares an image's run configuration with the expected one; only the expected members are checked.</summary>
    public static TestResult CheckMetadata(ImageRunConfig actual, MetadataExpectation expected)
    {
        var failures = new List<string>();
        if (expected.User is not null && !string.Equals(actual.User ?? string.Empty, expected.User, StringComparison.Ordinal))
        {
            failures.Add($"user is '{actual.User}', expected '{expected.User}'");
        }

        if (expected.Env is not null)
        {
            // Later entries win, as they do for a process started from this config.
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in actual.Env)
            {
                var parts = entry.Split('=', 2);
                env[parts[0]] = parts.Length > 1 ? parts[1] : string.Empty;
            }

            foreach (var (key, value) in expected.Env)
            {
                if (!env.TryGetValue(key, out var actualValue))
                {
                    failures.Add($"env {key} is not set, expected '{value}'");
                }
                else if (actualValue != value)
                {
                    failures.Add($"env {key} is '{actualValue}', expected '{value}'");
                }
            }
        }

        if (expected.Entrypoint is not null && !(actual.Entrypoint ?? []).SequenceEqual(expected.Entrypoint))
        {
            failures.Add($"entrypoint is {Show(actual.Entrypoint)}, expected {Show(expected.Entrypoint)}");
        }

        if (expected.Cmd is not null && !(actual.Cmd ?? []).SequenceEqual(expected.Cmd))
        {
            failures.Add($"cmd is {Show(actual.Cmd)}, expected {Show(expected.Cmd)}");
        }

        if (expected.WorkingDirectory is not null && (actual.WorkingDir ?? string.Empty) != expected.WorkingDirectory)
        {
            failures.Add($"workdir is '{actual.WorkingDir}', expected '{expected.WorkingDirectory}'");
        }

        foreach (var (key, value) in expected.Labels ?? [])
        {
            if (!actual.Labels.TryGetValue(key, out var actualValue))
            {
                failures.Add($"label {key} is not set, expected '{value}'");
            }
            else if (actualValue != value)
            {
                failures.Add($"label {key} is '{actualValue}', expected '{value}'");
            }
        }

        return new TestResult("metadata", "image configuration", failures.Count == 0,
            failures.Count == 0 ? "matches" : string.Join("; ", failures), TimeSpan.Zero);
    }

    /// <summary>Checks the uncompressed image size, in MiB, against the limit.</summary>
    public static TestResult CheckSize(long sizeBytes, double maxSizeMb)
    {
        var sizeMb = sizeBytes / (1024.0 * 1024.0);
        return new TestResult("size", $"at most {maxSizeMb:0.#} MiB", sizeMb <= maxSizeMb,
            $"{sizeMb:0.0} MiB uncompressed (limit {maxSizeMb:0.#} MiB)", TimeSpan.Zero);
    }

    private static bool Matches(string pattern, string text) =>
        Regex.IsMatch(text.TrimEnd('\n'), pattern, RegexOptions.Multiline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));

    private static string FormatOutput(ContainerLogs logs) =>
        $"stdout: {Cut(logs.Stdout)}{Environment.NewLine}stderr: {Cut(logs.Stderr)}";

    private static string Cut(string text) =>
        text.Length <= MaxOutputCharacters ? text.TrimEnd() : text[..MaxOutputCharacters] + $"… ({text.Length - MaxOutputCharacters} more characters)";

    private static string Show(IReadOnlyList<string>? values) => values is null ? "(none)" : "[" + string.Join(", ", values.Select(v => $"\"{v}\"")) + "]";

    private static string FirstLine(string text) => text.Split('\n', 2)[0];

    [LoggerMessage(Level = LogLevel.Information, Message = "Validation of {Pipeline} {Digest}: passed={Passed}, {Failures} failure(s)")]
    private partial void LogValidated(string pipeline, Digest digest, bool passed, int failures);
}
