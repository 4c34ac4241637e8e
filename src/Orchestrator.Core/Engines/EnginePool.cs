using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Engines;

/// <summary>
/// Places jobs on a pool of Docker Engines (issue 14, item 3): a job takes a slot on an engine that is up and has one
/// free, preferring one that already holds the image it starts from (asked with <c>GET /images/{ref}/json</c>, the answer
/// kept <see cref="EnginePoolOptions.ImageCacheTime"/>), else the least busy (busy over total slots, then config order).
/// While every usable engine is full it waits for a slot. An engine marked down (<see cref="MarkDown"/>, or a failed probe)
/// takes no job until a probe (<c>GET /version</c>, at most every <see cref="EnginePoolOptions.ReprobeInterval"/>) answers.
/// </summary>
public sealed partial class EnginePool : IEnginePool
{
    private readonly Member[] _members;
    private readonly EnginePoolOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Engine, string Image), (bool Holds, DateTimeOffset Until)> _holds = [];
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>A pool over <paramref name="engines"/>: each definition with the client that reaches it.</summary>
    /// <exception cref="ArgumentException">No engine, or two with one name.</exception>
    public EnginePool(IEnumerable<(EngineDefinition Definition, IDockerEngine Engine)> engines, EnginePoolOptions? options = null, TimeProvider? time = null, ILogger<EnginePool>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engines);
        _members = [.. engines.Select(e => new Member(e.Definition, e.Engine))];
        if (_members.Length == 0)
        {
            throw new ArgumentException("an engine pool needs at least one engine", nameof(engines));
        }

        if (_members.GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"engine name '{twice.Key}' is used twice", nameof(engines));
        }

        _options = options ?? new EnginePoolOptions();
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Names => [.. _members.Select(m => m.Name)];

    /// <summary>The engine named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such engine.</exception>
    public IDockerEngine this[string name] => Find(name).Engine;

    /// <inheritdoc />
    public async Task<EngineLease> AcquireAsync(EnginePlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(placement);
        var forced = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await ReprobeDueAsync(placement, force: false, cancellationToken).ConfigureAwait(false);

            Task changed;
            List<Member> free;
            lock (_gate)
            {
                changed = _changed.Task;
                var usable = _members.Where(m => m.Up && placement.Exclude?.Contains(m.Name) != true).ToList();
                free = [.. usable.Where(m => m.Busy < m.Slots)];
                if (usable.Count == 0 && forced)
                {
                    throw new UnavailableException(NoEngineMessage(placement));
                }
            }

            if (free.Count == 0 && !forced && Snapshot().All(s => !s.Up || placement.Exclude?.Contains(s.Name) == true))
            {
                // Every engine the job may use is marked down: ask each once now, before failing the job, rather than wait
                // out the re-probe interval (an engine restarted a moment ago takes the job).
                forced = true;
                await ReprobeDueAsync(placement, force: true, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (free.Count > 0)
            {
                var holding = placement.Image is { } image ? await HoldingAsync(free, image, cancellationToken).ConfigureAwait(false) : [];
                lock (_gate)
                {
                    // Chosen under the lock: another job may have taken the last slot (or an engine gone down) meanwhile.
                    var candidates = holding.Where(IsFree).ToList() is { Count: > 0 } held ? held : [.. free.Where(IsFree)];
                    if (candidates.Count > 0)
                    {
                        var chosen = candidates.OrderBy(m => (double)m.Busy / m.Slots).ThenBy(m => Array.IndexOf(_members, m)).First();
                        chosen.Busy++;
                        var holds = holding.Contains(chosen);
                        LogPlaced(chosen.Name, chosen.Busy, chosen.Slots, holds ? "holds the image" : "least busy");
                        return new EngineLease(chosen.Name, chosen.Endpoint, chosen.Engine, holds, () => Release(chosen));
                    }

                    changed = _changed.Task;
                }
            }

            // Every usable engine is full: wait for a slot to come back, or a down engine to be due for a probe.
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(_options.ReprobeInterval, _time, wake.Token);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false);
        }

        bool IsFree(Member member) => member.Up && member.Busy < member.Slots && placement.Exclude?.Contains(member.Name) != true;
    }

    /// <inheritdoc />
    public void MarkDown(string engine, string reason)
    {
        var member = Find(engine);
        lock (_gate)
        {
            member.Up = false;
            member.Error = reason;
            member.NextProbe = _time.GetUtcNow() + _options.ReprobeInterval;
            foreach (var key in _holds.Keys.Where(k => k.Engine == member.Name).ToList())
            {
                _holds.Remove(key);
            }
        }

        LogDown(engine, reason);
    }

    /// <inheritdoc />
    public async Task<bool> ProbeAsync(string engine, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var member = Find(engine);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        string? error;
        try
        {
            await member.Engine.GetVersionAsync(limit.Token).ConfigureAwait(false);
            error = null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = $"did not answer within {timeout.TotalSeconds:0.#} s";
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            error = exception.Message;
        }

        if (error is not null)
        {
            if (member.Up)
            {
                MarkDown(engine, error);
            }
            else
            {
                lock (_gate)
                {
                    member.Error = error;
                    member.NextProbe = _time.GetUtcNow() + _options.ReprobeInterval;
                }
            }

            return false;
        }

        bool wasDown;
        lock (_gate)
        {
            wasDown = !member.Up;
            member.Up = true;
            member.Error = null;
        }

        if (wasDown)
        {
            LogUp(engine);
            Signal();
        }

        return true;
    }

    /// <inheritdoc />
    public IReadOnlyList<EngineStatus> Snapshot()
    {
        lock (_gate)
        {
            return [.. _members.Select(m => new EngineStatus(m.Name, m.Endpoint, m.Up, m.Busy, m.Slots, m.Error))];
        }
    }

    private Member Find(string name) =>
        _members.FirstOrDefault(m => m.Name == name) ?? throw new KeyNotFoundException($"no engine named '{name}' in the pool ({string.Join(", ", _members.Select(m => m.Name))})");

    private void Release(Member member)
    {
        lock (_gate)
        {
            member.Busy--;
        }

        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource fired;
        lock (_gate)
        {
            fired = _changed;
            _changed = NewSignal();
        }

        fired.TrySetResult();
    }

    private async Task ReprobeDueAsync(EnginePlacement placement, bool force, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        List<Member> due;
        lock (_gate)
        {
            due = [.. _members.Where(m => !m.Up && (force || m.NextProbe <= now) && placement.Exclude?.Contains(m.Name) != true)];
        }

        await Task.WhenAll(due.Select(m => ProbeAsync(m.Name, _options.ProbeTimeout, cancellationToken))).ConfigureAwait(false);
    }

    // The engines of `free` that hold `image`, asked in parallel; an engine that does not answer is marked down.
    private async Task<List<Member>> HoldingAsync(List<Member> free, string image, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(free.Select(async member => (member, holds: await HoldsAsync(member, image, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
        return [.. answers.Where(a => a.holds).Select(a => a.member)];
    }

    private async Task<bool> HoldsAsync(Member member, string image, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_holds.TryGetValue((member.Name, image), out var cached) && cached.Until > now)
            {
                return cached.Holds;
            }
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_options.ProbeTimeout);
        bool holds;
        try
        {
            holds = await member.Engine.InspectImageAsync(image, limit.Token).ConfigureAwait(false) is not null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            MarkDown(member.Name, $"did not answer an image inspect within {_options.ProbeTimeout.TotalSeconds:0.#} s");
            return false;
        }
        catch (UnavailableException unavailable)
        {
            MarkDown(member.Name, unavailable.Message);
            return false;
        }
        catch (EngineException)
        {
            // An engine that answers with an error for this name (a malformed reference to it) just does not hold it.
            holds = false;
        }

        lock (_gate)
        {
            _holds[(member.Name, image)] = (holds, _time.GetUtcNow() + _options.ImageCacheTime);
        }

        return holds;
    }

    private string NoEngineMessage(EnginePlacement placement)
    {
        var down = _members.Where(m => !m.Up).Select(m => $"{m.Name} ({m.Endpoint}) is down: {m.Error}");
        var excluded = _members.Where(m => m.Up && placement.Exclude?.Contains(m.Name) == true).Select(m => $"{m.Name} already failed this job");
        return $"no Docker Engine of the pool can take the job: {string.Join("; ", down.Concat(excluded))}. " +
            "Start the engines (check 'docker -H ENDPOINT version'), or fix 'engines' in orchestrator.yaml; the job can be run again";
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job placed on engine {Engine} ({Busy}/{Slots} slots busy): {Why}")]
    private partial void LogPlaced(string engine, int busy, int slots, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Engine {Engine} is down and takes no jobs until it answers again: {Reason}")]
    private partial void LogDown(string engine, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Engine {Engine} answers again and takes jobs")]
    private partial void LogUp(string engine);

    private sealed class Member(EngineDefinition definition, IDockerEngine engine)
    {
        public string Name { get; } = definition.Name;

        public string Endpoint { get; } = definition.Endpoint;

        public int Slots { get; } = Math.Max(1, definition.Slots);

        public IDockerEngine Engine { get; } = engine;

        public int Busy { get; set; }

        public bool Up { get; set; } = true;

        public string? Error { get; set; }

        public DateTimeOffset NextProbe { get; set; }
    }
}
