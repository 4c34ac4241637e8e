using System.Net;
using Docker.DotNet;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Errors;
using Polly;
using Polly.Retry;

namespace Orchestrator.Docker;

/// <summary>
/// The retry of idempotent, non-streaming reads (version, image and container inspect, container list, path stat,
/// the opening of a log read or an export): 3 more attempts, exponential backoff from 200 ms with jitter, only on a
/// transient failure as <see cref="IsTransient"/> defines it. Nothing that changes state or streams a request body is
/// retried: a POST may have taken effect, and a body cannot be replayed.
/// </summary>
internal static class EngineRetry
{
    /// <summary>How many times a failed read is tried again.</summary>
    public const int MaxRetryAttempts = 3;

    /// <summary>The first delay; each later one doubles, with jitter.</summary>
    public static readonly TimeSpan DefaultDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// "Transient" for the Engine edge is the project's one rule (<see cref="TransientFailure"/>): a connection refused,
    /// reset or cut off mid-answer, a timeout, or an answer of 408/429/500/502/503/504. The library reports an error
    /// answer as <see cref="DockerApiException"/>, so its status goes through the same rule; a 4xx is the caller's
    /// mistake and never retried.
    /// </summary>
    public static bool IsTransient(Exception ex) =>
        ex is DockerApiException api ? TransientFailure.IsTransient(api.StatusCode) : TransientFailure.IsTransient(ex);

    /// <summary>The pipeline; <paramref name="delay"/> is zero in unit tests so they do not wait.</summary>
    public static ResiliencePipeline Create(ILogger logger, string endpoint, TimeProvider timeProvider, TimeSpan? delay = null) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = MaxRetryAttempts,
                Delay = delay ?? DefaultDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                OnRetry = arguments =>
                {
                    var operation = arguments.Context.Properties.TryGetValue(OperationKey, out var value) ? value : "request";
                    Log.Retrying(logger, operation, endpoint, arguments.AttemptNumber + 1, arguments.Outcome.Exception?.Message ?? "no answer");
                    return default;
                },
            })
            .Build();

    /// <summary>Carries the operation's description to the retry log line.</summary>
    public static readonly ResiliencePropertyKey<string> OperationKey = new("orchestrator.engine.operation");
}
