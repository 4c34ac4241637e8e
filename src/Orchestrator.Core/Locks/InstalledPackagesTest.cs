using System.Diagnostics;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Locks;

/// <summary>
/// The validation test "installed packages match the lock": dpkg's installed set in the image (read in
/// a container with no network) must be exactly the base's recorded set with the lock's closure on top,
/// every package at its locked version and architecture. A lock without the base's set (an older
/// format) checks only that every locked package is installed at exactly its version.
/// </summary>
public sealed class InstalledPackagesTest(IDockerEngine engine)
{
    /// <summary>The test's name in validation results.</summary>
    public const string Name = "installed packages match the lock";

    /// <summary>Runs dpkg-query in <paramref name="reference"/> and compares with <paramref name="pipelineLock"/>.</summary>
    public async Task<TestResult> RunAsync(ImageReference reference, PipelineLock pipelineLock, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var spec = new ContainerSpec(
            reference.ToString(),
            Entrypoint: ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"],
            Cmd: [],
            ReadonlyRootfs: true,
            Labels: new Dictionary<string, string> { [ValidationWorkflow.ContainerLabel] = reference.Digest!.ToString() });
        var id = await engine.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var exitCode = await engine.WaitContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var logs = await engine.GetContainerLogsAsync(id, cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                return new TestResult("packages", Name, false, $"dpkg-query exited {exitCode}: {logs.Stderr.Trim()}", Stopwatch.GetElapsedTime(started));
            }

            var result = Compare(pipelineLock, AptOutput.ParseDpkgQuery(logs.Stdout));
            return result with { Duration = Stopwatch.GetElapsedTime(started) };
        }
        finally
        {
            await engine.RemoveContainerAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Compares dpkg's installed set with what the lock says the image has.</summary>
    public static TestResult Compare(PipelineLock pipelineLock, IReadOnlyList<InstalledPackage> installed)
    {
        var expected = new Dictionary<(string, string), string>();
        foreach (var package in pipelineLock.Base.Packages)
        {
            expected[(package.Name, package.Architecture)] = package.Version;
        }

        foreach (var package in pipelineLock.Packages)
        {
            expected[(package.Name, package.Architecture)] = package.Version;
        }

        var actual = installed.ToDictionary(p => (p.Name, p.Architecture), p => p.Version);
        var failures = new List<string>();
        foreach (var ((name, architecture), version) in expected.OrderBy(e => e.Key.Item1, StringComparer.Ordinal))
        {
            if (!actual.TryGetValue((name, architecture), out var actualVersion))
            {
                failures.Add($"{name} {version} {architecture} is not installed");
            }
            else if (actualVersion != version)
            {
                failures.Add($"{name} is {actualVersion}, locked at {version}");
            }
        }

        // Without the base's set the lock cannot say what else belongs; extra packages are only judged with it.
        if (pipelineLock.Base.Packages.Count > 0)
        {
            foreach (var ((name, architecture), version) in actual.Where(a => !expected.ContainsKey(a.Key)).OrderBy(a => a.Key.Name, StringComparer.Ordinal))
            {
                failures.Add($"{name} {version} {architecture} is installed but not in the lock");
            }
        }

        return new TestResult("packages", Name, failures.Count == 0,
            failures.Count == 0
                ? $"{installed.Count} installed package(s) match the lock"
                : string.Join("; ", failures) + $" (fix: rebuild from the lock, or run 'orchestrator lock {pipelineLock.Pipeline}' if the lock is out of date)",
            TimeSpan.Zero);
    }
}
