using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;

namespace Orchestrator.Core.Locks;

/// <summary>Whether a pipeline's lock still describes it.</summary>
public enum LockState
{
    /// <summary>The lock matches the definition, its files and the base's current digest.</summary>
    Fresh,

    /// <summary>There is no lock next to the definition.</summary>
    Missing,

    /// <summary>The lock no longer matches; <see cref="LockStatus.Reasons"/> says why.</summary>
    Stale,
}

/// <summary>The outcome of <see cref="Check"/>: the state, every reason, and a message that gives the fix.</summary>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="State">Fresh, missing or stale.</param>
/// <param name="Reasons">Why it is stale (empty otherwise).</param>
public sealed record LockStatus(string Pipeline, LockState State, IReadOnlyList<string> Reasons)
{
    public bool IsFresh => State == LockState.Fresh;

    /// <summary>One line for people: what is wrong and the command that fixes it.</summary>
    public string Message => State switch
    {
        LockState.Fresh => $"the lock of {Pipeline} is fresh",
        LockState.Missing => $"pipeline {Pipeline} has no lock: run 'orchestrator lock {Pipeline}' and commit pipelines/{Pipeline}.lock.yaml",
        _ => $"the lock of {Pipeline} is stale ({string.Join("; ", Reasons)}): run 'orchestrator lock {Pipeline}' and commit the new lock",
    };

    /// <summary>
    /// Compares <paramref name="pipelineLock"/> with <paramref name="pipeline"/> as it is now and with the
    /// base variant's current digest in the first stage.
    /// </summary>
    /// <param name="pipelineLock">The lock, or null when there is none.</param>
    /// <param name="pipeline">The definition as it is now.</param>
    /// <param name="currentBaseDigest">The base variant's digest in the first stage now.</param>
    /// <param name="currentBuildBaseDigest">For a Python pipeline, its build base's digest now; null skips that check.</param>
    public static LockStatus Check(PipelineLock? pipelineLock, PipelineDefinition pipeline, Digest currentBaseDigest, Digest? currentBuildBaseDigest = null)
    {
        if (pipelineLock is null)
        {
            return new LockStatus(pipeline.Name, LockState.Missing, []);
        }

        var reasons = new List<string>();
        if (pipelineLock.Pipeline != pipeline.Name)
        {
            reasons.Add($"the lock is for pipeline '{pipelineLock.Pipeline}'");
        }

        if (!InputsChecksum.Matches(pipelineLock.InputsChecksum, pipeline))
        {
            // A legacy lock (version in its checksum) cannot tell a version bump from another change: say so.
            reasons.Add("the definition or its files changed since the lock was written (or, for a lock written before version left its checksum, the version)");
        }

        if (pipelineLock.Base.Name != pipeline.Base.ToString())
        {
            reasons.Add($"the base changed from {pipelineLock.Base.Name} to {pipeline.Base}");
        }
        else if (pipelineLock.Base.Digest != currentBaseDigest)
        {
            reasons.Add($"base {pipeline.Base} moved from {pipelineLock.Base.Digest.ToShortString()} to {currentBaseDigest.ToShortString()}");
        }

        if (pipeline.Python is { } python)
        {
            if (pipelineLock.BuildBase is not { } buildBase || buildBase.Name != python.BuildBase.ToString())
            {
                reasons.Add($"the lock has no build stage on {python.BuildBase}");
            }
            else if (currentBuildBaseDigest is not null && buildBase.Digest != currentBuildBaseDigest)
            {
                reasons.Add($"build base {python.BuildBase} moved from {buildBase.Digest.ToShortString()} to {currentBuildBaseDigest.ToShortString()}");
            }
        }

        foreach (var package in pipeline.AptPackages)
        {
            if (pipeline.UnpinnedPackages.Contains(package.Name, StringComparer.Ordinal))
            {
                if (!pipelineLock.Packages.Any(p => p.Name == package.Name))
                {
                    reasons.Add($"{package.Name} is not in the lock");
                }

                continue;
            }

            var locked = pipelineLock.Packages.FirstOrDefault(p => p.Name == package.Name);
            if (locked is null)
            {
                reasons.Add($"{package.Name}={package.Version} is not in the lock");
            }
            else if (locked.Version != package.Version)
            {
                reasons.Add($"{package.Name} is pinned to {package.Version} but locked at {locked.Version}");
            }
        }

        return new LockStatus(pipeline.Name, reasons.Count == 0 ? LockState.Fresh : LockState.Stale, reasons);
    }
}
