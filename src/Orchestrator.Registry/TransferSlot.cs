namespace Orchestrator.Registry;

/// <summary>
/// One place of a <see cref="SemaphoreSlim"/> bounding streams in flight, released exactly once: either early, when
/// the stream's last byte is handed over (the registry's commit of the blob then need not hold the place), or when
/// the transfer ends, whichever comes first.
/// </summary>
internal sealed class TransferSlot : IDisposable
{
    private SemaphoreSlim? _semaphore;

    private TransferSlot(SemaphoreSlim semaphore) => _semaphore = semaphore;

    /// <summary>Waits for a place of <paramref name="semaphore"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public static async Task<TransferSlot> TakeAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken)
    {
        await semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new TransferSlot(semaphore);
    }

    /// <summary>Gives the place back; later calls do nothing. Safe from any thread.</summary>
    public void Release() => Interlocked.Exchange(ref _semaphore, null)?.Release();

    /// <inheritdoc />
    public void Dispose() => Release();
}
