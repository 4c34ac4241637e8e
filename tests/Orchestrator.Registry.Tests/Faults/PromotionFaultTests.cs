using System.Diagnostics;
using Orchestrator.Core.References;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Registry.Tests.Faults;

/// <summary>
/// The fault suite of issue 11: promotions of a 200 MB image between two real registries (Debian's
/// <c>docker-registry</c>, our own instances) through <see cref="FaultProxy"/>, with the target killed and restarted
/// at several points, connections reset mid-blob, 5xx bursts, 429s, stalls, a flipped byte and concurrent
/// promotions. Each try must end one of two ways: the target serves the source's digest (read by an independent
/// witness, skopeo), or the promotion failed with a clear cause and no tag in the target, and a rerun without
/// faults completes it copying only the blobs the target lacked (counted at the proxy). Each try is recorded in
/// the "faults" figures that scripts/test prints; anything else is Inconsistent and fails the test.
/// </summary>
[Trait("Category", "Integration")]
[Collection(RegistryIntegrationCollection.Name)]
public sealed class PromotionFaultTests(FaultSuiteFixture fixture) : IClassFixture<FaultSuiteFixture>, IDisposable
{
    private const string Suite = "faults";

    // Quick retries for the in-process tries, so a burst is spent in well under a second; the CLI tries keep the shipped defaults.
    private static readonly RegistryClientOptions Quick = new() { MaxRetryAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(200) };
    private static readonly RegistryClientOptions NoRetries = new() { MaxRetryAttempts = 0 };

    private readonly FaultSuiteFixture _f = fixture;
    private readonly List<CliPromoter> _clis = [];
    private Task _restart = Task.CompletedTask;

    public void Dispose()
    {
        _f.SourceProxy.Plan = null;
        _f.TargetProxy.Plan = null;
        foreach (var cli in _clis)
        {
            cli.Dispose();
        }
    }

    [Theory]
    [InlineData(10, true)]
    [InlineData(50, false)]
    [InlineData(90, false)]
    public async Task Promote_TargetKilledAtAShareOfTheBytesAndRestarted_ServesTheDigestOrFailsCleanlyAndTheRerunCopiesOnlyWhatIsMissing(int percent, bool throughCli)
    {
        // Given the target registry SIGKILLed once percent % of the image's blob bytes have reached it, and restarted a second later
        var kills = _f.Target.Kills;
        var threshold = FaultSuiteFixture.LayerSizes.Sum(s => (long)s) * percent / 100;
        var fired = 0;
        var faults = new FaultPlan
        {
            OnBlobBytesUploaded = total =>
            {
                if (total >= threshold && Interlocked.Exchange(ref fired, 1) == 0)
                {
                    KillTargetAndRestartLater();
                }
            },
        };

        // When the image is promoted (10 %: by the CLI with its shipped retries; 50 %: in process with quick retries; 90 %: with none), and, if that failed, again without faults
        var result = await RunTryAsync($"target killed at {percent} % of the bytes", throughCli ? Cli() : new CopierPromoter(_f, percent == 90 ? NoRetries : Quick), [_f.TargetProxy.Endpoint.Host], targetFaults: faults);

        // Then the kill landed during the copy, and the try ended served or cleanly failed and completed by the rerun
        Assert.Equal(kills + 1, _f.Target.Kills);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_TargetKilledBetweenTheBlobsAndTheManifests_FailsCleanlyAndTheRerunCopiesNoBlob()
    {
        // Given the target registry SIGKILLed when the first manifest PUT arrives (every blob is in), restarted a second later, and no retries
        var kills = _f.Target.Kills;
        var fired = 0;
        var faults = new FaultPlan
        {
            BeforeForward = (method, path, _) =>
            {
                if (method == "PUT" && path.Contains("/manifests/", StringComparison.Ordinal) && Interlocked.Exchange(ref fired, 1) == 0)
                {
                    KillTargetAndRestartLater();
                }

                return Task.FromResult<FaultAnswer?>(null);
            },
        };

        // When the image is promoted in process, and again without faults
        var result = await RunTryAsync("target killed between blobs and manifests", new CopierPromoter(_f, NoRetries), [_f.TargetProxy.Endpoint.Host, "manifest"], targetFaults: faults);

        // Then the first run failed on the manifest with no tag set, and the rerun sent no blob byte at all
        Assert.Equal(kills + 1, _f.Target.Kills);
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        Assert.Equal(0, result.RerunBytes);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_SourceResetsAt20PercentOfTheLargestBlobWithoutRetries_FailsCleanlyAndTheRerunCopiesOnlyWhatIsMissing()
    {
        // Given a source that resets the connection once 20 % of the 80 MB layer has been served, and no retries
        var faults = new FaultPlan { ResetBlobDownloadAt = Once((path, size) => path.EndsWith(_f.LargestLayer.ToString(), StringComparison.Ordinal) ? size / 5 : null) };

        // When the image is promoted in process, and again without faults
        var result = await RunTryAsync("connection reset at 20 % of a blob", new CopierPromoter(_f, NoRetries), ["the connection to the source broke", _f.LargestLayer.ToString(), _f.SourceProxy.Endpoint.Host], sourceFaults: faults);

        // Then the reset happened, the first run failed cleanly, and the rerun copied the missing blobs only
        Assert.Equal(1, result.SourceInjected);
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_SourceResetsAt50PercentOfTheLargestBlobThroughTheCli_TheBlobIsRetriedAndTheTargetServesTheDigest()
    {
        // Given a source that resets the connection once half of the 80 MB layer has been served
        var faults = new FaultPlan { ResetBlobDownloadAt = Once((path, size) => path.EndsWith(_f.LargestLayer.ToString(), StringComparison.Ordinal) ? size / 2 : null) };

        // When the CLI promotes the image with its shipped retries
        var result = await RunTryAsync("connection reset at 50 % of a blob", Cli(), [_f.LargestLayer.ToString()], sourceFaults: faults);

        // Then the reset happened and the blob was copied again: the target serves the digest
        Assert.Equal(1, result.SourceInjected);
        Assert.Equal(SuiteOutcome.Success, result.Outcome);
    }

    [Fact]
    public async Task Promote_TargetAnswersThree503sThenRecovers_RetriedAndTheTargetServesTheDigest()
    {
        // Given a target whose first three requests are answered 503
        var count = 0;
        var faults = new FaultPlan { BeforeForward = (_, _, _) => Task.FromResult(Interlocked.Increment(ref count) <= 3 ? new FaultAnswer(503) : null) };

        // When the image is promoted in process with three retries
        var result = await RunTryAsync("3 x 503 then OK", new CopierPromoter(_f, Quick), [], targetFaults: faults);

        // Then the three 503s were served and retried past: the target serves the digest
        Assert.Equal(3, result.TargetInjected);
        Assert.Equal(SuiteOutcome.Success, result.Outcome);
    }

    [Fact]
    public async Task Promote_TargetAnswers503ToEveryManifestPutThroughTheCli_ExitsOneUntaggedAndTheRerunCopiesNoBlob()
    {
        // Given a target that answers 503 to every manifest PUT, longer than any retry budget
        var faults = new FaultPlan
        {
            BeforeForward = (method, path, _) => Task.FromResult(method == "PUT" && path.Contains("/manifests/", StringComparison.Ordinal) ? new FaultAnswer(503) : null),
        };

        // When the CLI promotes the image, and again once the target recovers
        var result = await RunTryAsync("503 burst longer than the retry budget", Cli(), ["503", "retry the job"], targetFaults: faults);

        // Then every attempt of the shipped budget was refused, the CLI exited 1 with no tag set, and the rerun sent no blob byte
        Assert.Equal(new RegistryClientOptions().MaxRetryAttempts + 1, result.TargetInjected);
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        Assert.Equal(0, result.RerunBytes);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_SourceAnswers429WithRetryAfter_WaitsThatLongAndTheTargetServesTheDigest()
    {
        // Given a source that answers the first read of the image's manifest with 429 and Retry-After: 2, and a backoff of 50 ms
        var seen = new List<DateTimeOffset>();
        var faults = new FaultPlan
        {
            BeforeForward = (method, path, _) =>
            {
                if (method != "GET" || !path.EndsWith("/manifests/" + _f.Image.Digest, StringComparison.Ordinal))
                {
                    return Task.FromResult<FaultAnswer?>(null);
                }

                lock (seen)
                {
                    seen.Add(DateTimeOffset.UtcNow);
                    return Task.FromResult(seen.Count == 1 ? new FaultAnswer(429, RetryAfterSeconds: 2) : null);
                }
            },
        };

        // When the image is promoted in process
        var result = await RunTryAsync("429 with Retry-After honoured", new CopierPromoter(_f, new RegistryClientOptions { RetryDelay = TimeSpan.FromMilliseconds(50) }), [], sourceFaults: faults);

        // Then the retry came no sooner than the 2 s the registry asked for, and the target serves the digest
        Assert.Equal(1, result.SourceInjected);
        Assert.True(seen.Count >= 2, $"{seen.Count} reads of the manifest");
        Assert.True(seen[1] - seen[0] >= TimeSpan.FromSeconds(1.9), $"retried after {(seen[1] - seen[0]).TotalMilliseconds:0} ms");
        Assert.Equal(SuiteOutcome.Success, result.Outcome);
    }

    [Fact]
    public async Task Promote_SourceAnswers429UntilTheRetriesAreSpent_FailsSayingTheRegistryIsRateLimitingAndTheRerunCompletes()
    {
        // Given a source that answers every read of the image's manifest with 429 and Retry-After: 1, and two retries
        var faults = new FaultPlan
        {
            BeforeForward = (method, path, _) => Task.FromResult(method == "GET" && path.EndsWith("/manifests/" + _f.Image.Digest, StringComparison.Ordinal) ? new FaultAnswer(429, RetryAfterSeconds: 1) : null),
        };

        // When the image is promoted in process, and again once the source stops limiting
        var result = await RunTryAsync("429 until the retries are spent", new CopierPromoter(_f, new RegistryClientOptions { MaxRetryAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(50) }), ["is rate-limiting", "wait"], sourceFaults: faults);

        // Then three attempts were refused, and the failure says rate-limiting, not "check the reference"
        Assert.Equal(3, result.SourceInjected);
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        Assert.DoesNotContain("check the reference", result.First.Cause, StringComparison.Ordinal);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_TargetStallsOnceLongerThanTheAttemptTimeout_TheAttemptTimesOutIsRetriedAndTheTargetServesTheDigest()
    {
        // Given a target that holds its first answer about the image's manifest for 20 s, and a 5 s attempt timeout
        // (5 s, not less: the attempt timeout also bounds sending each blob, up to 128 MiB in one PUT, and this machine is shared)
        var count = 0;
        var held = new List<TimeSpan>();
        var faults = new FaultPlan { BeforeForward = StallManifestHead(() => Interlocked.Increment(ref count) == 1, held) };

        // When the image is promoted in process
        var result = await RunTryAsync("stall once, longer than the attempt timeout", new CopierPromoter(_f, new RegistryClientOptions { MaxRetryAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(200), AttemptTimeout = TimeSpan.FromSeconds(5) }), [], targetFaults: faults);

        // Then the stalled attempt was given up (not waited out), retried, and the target serves the digest
        Assert.True(count >= 2, $"{count} answers about the manifest");
        Assert.Equal(SuiteOutcome.Success, result.Outcome);
        var stalled = Assert.Single(held);
        Assert.InRange(stalled, TimeSpan.FromSeconds(4.5), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Promote_TargetStallsOnEveryAttempt_FailsNamingTheTimeoutAndTheRerunCompletes()
    {
        // Given a target that holds every answer about the image's manifest for 20 s, a 5 s attempt timeout and one retry
        var faults = new FaultPlan { BeforeForward = StallManifestHead(() => true) };

        // When the image is promoted in process, and again once the target answers
        var result = await RunTryAsync("stall on every attempt", new CopierPromoter(_f, new RegistryClientOptions { MaxRetryAttempts = 1, RetryDelay = TimeSpan.FromMilliseconds(50), AttemptTimeout = TimeSpan.FromSeconds(5) }), ["did not answer", "within 5 s in 2 attempts"], targetFaults: faults);

        // Then it failed cleanly naming the timeout, and the rerun completed it
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_SourceFlipsAByteOfTheLargestBlob_RefusedNamingTheDigestBeforeAnythingIsTagged()
    {
        // Given a source that flips one byte in the middle of the 80 MB layer, every time it is read
        var faults = new FaultPlan { FlipBlobByteAt = (path, size) => path.EndsWith(_f.LargestLayer.ToString(), StringComparison.Ordinal) ? size / 2 : null };

        // When the image is promoted in process (with retries: a mismatch is not transient), and again from an honest source
        var result = await RunTryAsync("flipped byte in a source blob", new CopierPromoter(_f, Quick), ["DigestMismatchException", _f.LargestLayer.ToString()], sourceFaults: faults, beforeRerun: async repository =>
        {
            // The corrupt bytes never became the blob in the target, and the image's manifest was never written
            Assert.DoesNotContain(_f.LargestLayer, await _f.BlobsInTargetAsync(repository));
            Assert.False(await _f.ManifestInTargetAsync(repository), "the target holds the manifest of a refused promotion");
        });

        // Then the flip was served once (not retried), and the promotion was refused naming the blob's digest
        Assert.Equal(1, result.SourceInjected);
        Assert.Equal(SuiteOutcome.CleanFailure, result.Outcome);
        AssertConsistent(result);
    }

    [Fact]
    public async Task Promote_ThreeCliPromotionsOfOneDigestAtOnce_AllEndWithTheTargetServingTheDigest()
    {
        // Given the image in a fresh repository, and three users' CLIs (each its own workspace and state store)
        var repository = await _f.StageAsync("three concurrent promotions");
        var clis = new[] { Cli(), Cli(), Cli() };

        // When all three promote the same digest to the same target at once
        var attempts = await Task.WhenAll(clis.Select(c => c.PromoteAsync(repository)));

        // Then each succeeded, or failed with a clear cause and completes on a rerun; and the target serves the digest
        var details = new List<string>();
        var consistent = true;
        for (var i = 0; i < attempts.Length; i++)
        {
            var attempt = attempts[i];
            if (!attempt.Succeeded)
            {
                var rerun = await clis[i].PromoteAsync(repository);
                consistent &= attempt.Clear && rerun.Succeeded;
                details.Add($"cli {i + 1} failed ({attempt.Cause}), rerun {(rerun.Succeeded ? "completed" : "failed: " + rerun.Cause)}");
            }
        }

        var served = await SyntheticImages.SkopeoDigestAsync($"127.0.0.1:{_f.Target.Port}/{repository}:{FaultSuiteFixture.Tag}");
        consistent &= served == _f.Image.Digest;
        var outcome = !consistent ? SuiteOutcome.Inconsistent : details.Count == 0 ? SuiteOutcome.Success : SuiteOutcome.CleanFailure;
        var detail = $"{attempts.Count(a => a.Succeeded)} of 3 succeeded at once; target serves {served}" + (details.Count > 0 ? "; " + string.Join("; ", details) : string.Empty);
        SuiteFigures.Record(Suite, "three concurrent promotions of one digest (3 x cli)", outcome, detail);
        Assert.True(outcome != SuiteOutcome.Inconsistent, detail);
        Assert.Equal(_f.Image.Digest, served);
    }

    /// <summary>How a try ended, with what was seen on the way.</summary>
    internal sealed record TryResult(SuiteOutcome Outcome, PromotionAttempt First, PromotionAttempt? Rerun, long RerunBytes, long MissingBytes, int SourceInjected, int TargetInjected, string Detail);

    /// <summary>
    /// One try: stage the image in a fresh repository, arm the faults, promote; then judge it. Served: skopeo reads
    /// the source's digest under the tag in the target. Otherwise the failure must be clear (typed, naming each of
    /// <paramref name="causes"/>), the target must have no tag, and a rerun without faults must complete it sending
    /// exactly the bytes of the blobs the target lacked. Records the try in the suite's figures.
    /// </summary>
    private async Task<TryResult> RunTryAsync(
        string tryName, IPromoter promoter, string[] causes, FaultPlan? sourceFaults = null, FaultPlan? targetFaults = null, Func<string, Task>? beforeRerun = null)
    {
        var repository = await _f.StageAsync(tryName);
        var (sourceInjected, targetInjected) = (_f.SourceProxy.Injected, _f.TargetProxy.Injected);
        _f.SourceProxy.Plan = sourceFaults;
        _f.TargetProxy.Plan = targetFaults;
        PromotionAttempt first;
        try
        {
            first = await promoter.PromoteAsync(repository);
        }
        finally
        {
            _f.SourceProxy.Plan = null;
            _f.TargetProxy.Plan = null;
            await _restart;
        }

        sourceInjected = _f.SourceProxy.Injected - sourceInjected;
        targetInjected = _f.TargetProxy.Injected - targetInjected;
        var name = $"{tryName} ({promoter.Kind})";
        TryResult result;
        if (first.Succeeded)
        {
            var served = await SyntheticImages.SkopeoDigestAsync($"127.0.0.1:{_f.Target.Port}/{repository}:{FaultSuiteFixture.Tag}");
            var outcome = served == _f.Image.Digest ? SuiteOutcome.Success : SuiteOutcome.Inconsistent;
            result = new TryResult(outcome, first, null, 0, 0, sourceInjected, targetInjected, $"completed; target serves {served}");
        }
        else
        {
            var tags = await _f.TagsInTargetAsync(repository);
            var lacking = _f.BlobSizes.Keys.Except(await _f.BlobsInTargetAsync(repository)).Select(b => b.ToString()).Order(StringComparer.Ordinal).ToList();
            var missing = lacking.Sum(b => _f.BlobSizes[Digest.Parse(b)]);
            var clear = first.Clear && causes.All(c => first.Cause.Contains(c, StringComparison.Ordinal));
            if (beforeRerun is not null)
            {
                await beforeRerun(repository);
            }

            var uploaded = _f.TargetProxy.BlobBytesUploaded;
            var committedBefore = _f.TargetProxy.CommittedBlobs.Count;
            var rerun = await promoter.PromoteAsync(repository);
            var rerunBytes = _f.TargetProxy.BlobBytesUploaded - uploaded;

            // Only what was missing: the blobs the registry committed during the rerun are exactly those it lacked (a blob
            // the rerun itself had to send twice, after a slow attempt, still counts once).
            var committed = _f.TargetProxy.CommittedBlobs.Skip(committedBefore).Distinct().Order(StringComparer.Ordinal).ToList();
            var served = rerun.Succeeded ? await SyntheticImages.SkopeoDigestAsync($"127.0.0.1:{_f.Target.Port}/{repository}:{FaultSuiteFixture.Tag}") : null;
            var outcome = clear && tags.Count == 0 && rerun.Succeeded && committed.SequenceEqual(lacking) && rerunBytes >= missing && served == _f.Image.Digest
                ? SuiteOutcome.CleanFailure
                : SuiteOutcome.Inconsistent;
            var detail = $"failed{(clear ? string.Empty : " UNCLEARLY")}: {OneLine(first.Cause)}; tags left: [{string.Join(", ", tags)}]; "
                + $"rerun {(rerun.Succeeded ? "completed" : "failed: " + OneLine(rerun.Cause))}, committed {committed.Count} blob(s) for the {lacking.Count} missing, sending {rerunBytes} bytes for {missing}; target serves {served?.ToString() ?? "nothing"}";
            result = new TryResult(outcome, first, rerun, rerunBytes, missing, sourceInjected, targetInjected, detail);
        }

        SuiteFigures.Record(Suite, name, result.Outcome, result.Detail);
        return result;
    }

    private static void AssertConsistent(TryResult result) => Assert.True(result.Outcome != SuiteOutcome.Inconsistent, result.Detail);

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length > 600 ? line[..600] + "…" : line;
    }

    private CliPromoter Cli()
    {
        var cli = new CliPromoter(_f);
        _clis.Add(cli);
        return cli;
    }

    // SIGKILL now (from inside the proxy, as the bytes pass), start again a second later; the try awaits the restart.
    // The restart is published before the kill: the copy fails the moment the registry dies, and the try must not
    // judge a registry that is still down.
    private void KillTargetAndRestartLater()
    {
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _restart = restarted.Task;
        _f.Target.Kill();
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                await _f.Target.RestartAsync();
                restarted.SetResult();
            }
            catch (Exception ex)
            {
                restarted.SetException(ex);
            }
        });
    }

    // Holds (for 20 s, or until the client gives up) the target's answers about the image's manifest that stall() picks.
    // Each stall's length goes to held: how long the client waited before giving up.
    private Func<string, string, CancellationToken, Task<FaultAnswer?>> StallManifestHead(Func<bool> stall, List<TimeSpan>? held = null) => async (method, path, aborted) =>
    {
        if (method == "HEAD" && path.EndsWith("/manifests/" + _f.Image.Digest, StringComparison.Ordinal) && stall())
        {
            var clock = Stopwatch.StartNew();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(20), aborted);
            }
            finally
            {
                if (held is not null)
                {
                    lock (held)
                    {
                        held.Add(clock.Elapsed);
                    }
                }
            }
        }

        return null;
    };

    // The fault for the first blob download it picks, none after: a network that drops once.
    private static Func<string, long, long?> Once(Func<string, long, long?> pick)
    {
        var fired = 0;
        return (path, size) => pick(path, size) is { } at && Interlocked.Exchange(ref fired, 1) == 0 ? at : null;
    }
}
