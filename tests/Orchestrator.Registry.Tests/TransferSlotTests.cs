namespace Orchestrator.Registry.Tests;

public sealed class TransferSlotTests
{
    [Fact]
    public async Task Release_CalledEarlyThenDisposed_GivesThePlaceBackOnce()
    {
        // Given a bound of two places, one taken by a slot
        using var semaphore = new SemaphoreSlim(2, 2);
        var slot = await TransferSlot.TakeAsync(semaphore, CancellationToken.None);
        Assert.Equal(1, semaphore.CurrentCount);

        // When it is released early (the last byte sent) and disposed at the end of the transfer
        slot.Release();
        slot.Dispose();

        // Then exactly one place came back: a second Release would have overfilled the bound
        Assert.Equal(2, semaphore.CurrentCount);
    }

    [Fact]
    public async Task TakeAsync_NoPlaceFree_WaitsUntilOneIsReleased()
    {
        // Given a bound of one place, taken
        using var semaphore = new SemaphoreSlim(1, 1);
        using var first = await TransferSlot.TakeAsync(semaphore, CancellationToken.None);

        // When a second transfer asks for a place
        var second = TransferSlot.TakeAsync(semaphore, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        // Then it gets one once the first gives its place back
        first.Release();
        using var taken = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, semaphore.CurrentCount);
    }
}
