using System.Net;
using System.Net.Http.Headers;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.References;
using Orchestrator.Registry.Resilience;

namespace Orchestrator.Registry.Tests.Resilience;

public sealed class RegistryRateBudgetTests
{
    private static readonly Digest Blob = Digest.Sha256Of("layer"u8);

    [Fact]
    public void Reserve_AfterPause_WaitsUntilThePauseEnds()
    {
        // Given a budget paused for 7 s
        var time = new FastTimeProvider();
        var budget = new RegistryRateBudget("http://reg.test", 0, time);
        budget.Pause(TimeSpan.FromSeconds(7));

        // When slots are taken now and after 7 s
        var during = budget.Reserve();
        time.Now += TimeSpan.FromSeconds(7);
        var after = budget.Reserve();

        // Then the first waits the whole pause and the later one not at all
        Assert.Equal(TimeSpan.FromSeconds(7), during);
        Assert.Equal(TimeSpan.Zero, after);
    }

    [Fact]
    public void Pause_ShorterThanTheCurrentPause_DoesNotShortenIt()
    {
        // Given a budget paused for 30 s
        var time = new FastTimeProvider();
        var budget = new RegistryRateBudget("http://reg.test", 0, time);
        budget.Pause(TimeSpan.FromSeconds(30));

        // When another 429 asks for 2 s
        budget.Pause(TimeSpan.FromSeconds(2));

        // Then the longer pause holds
        Assert.Equal(TimeSpan.FromSeconds(30), budget.Reserve());
    }

    [Fact]
    public void Reserve_TwoRequestsPerSecond_BurstsTwoThenSpacesThemHalfASecondApart()
    {
        // Given a budget of 2 requests per second
        var budget = new RegistryRateBudget("http://reg.test", 2, new FastTimeProvider());

        // When five slots are taken at the same instant
        var waits = Enumerable.Range(0, 5).Select(_ => budget.Reserve().TotalMilliseconds).ToList();

        // Then a second's burst goes at once, the rest at the steady rate
        Assert.Equal([0, 0, 500, 1000, 1500], waits);
    }

    [Fact]
    public async Task HeadBlobAsync_AnotherClientOfTheRegistryGot429_WaitsForItsRetryAfterWhileOtherRegistriesDoNot()
    {
        // Given a registry whose first answer is 429 with Retry-After: 7, and no retries
        var calls = 0;
        var handler = new FakeHandler(r =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                var limited = FakeHandler.Status(HttpStatusCode.TooManyRequests);
                limited.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
                return limited;
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(new byte[5]) };
        });
        var time = new FastTimeProvider();
        var (first, factory) = Fake.Client(handler, options: new RegistryClientOptions { MaxRetryAttempts = 0 }, time: time);
        using var _ = factory;
        var limited = await Assert.ThrowsAsync<RegistryException>(() => first.HeadBlobAsync("app", Blob));

        // When another client of the same registry, and one of another registry, ask for a blob
        var sameRegistry = factory.Create(new RegistryEndpoint("reg.test", PlainHttp: true));
        Assert.Equal(5, await sameRegistry.HeadBlobAsync("other", Blob));
        var delaysAfterSame = time.Delays.ToList();
        var otherRegistry = factory.Create(new RegistryEndpoint("elsewhere.test", PlainHttp: true));
        Assert.Equal(5, await otherRegistry.HeadBlobAsync("app", Blob));

        // Then the same registry's client waited the 7 s the 429 asked for, the other registry's did not
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal([TimeSpan.FromSeconds(7)], delaysAfterSame);
        Assert.Equal([TimeSpan.FromSeconds(7)], time.Delays);
    }

    [Fact]
    public void Validate_NegativeRequestsPerSecond_InputExceptionNamingTheRange()
    {
        // Given a negative rate
        var options = new RegistryClientOptions { RequestsPerSecond = -1 };

        // When the options are checked
        var error = Assert.Throws<InputException>(options.Validate);

        // Then the message names the value and the allowed range
        Assert.Contains("RequestsPerSecond is -1: use 0 (no limit) to 10000", error.Message, StringComparison.Ordinal);
    }
}
