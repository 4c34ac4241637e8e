using Orchestrator.Core.Ports;

namespace Orchestrator.State.Tests.Contracts;

/// <summary>
/// One store implementation under the contract tests: a fresh, empty database per test (a SQLite file in a temp folder,
/// or a PostgreSQL database made for the test and dropped after), new store instances on it (each as another process
/// would open it), and raw SQL for what the ports do not show. The SQL the contracts send is the same for both.
/// </summary>
public abstract class StoreBackend : IAsyncDisposable
{
    /// <summary>A short name for messages: sqlite or postgres.</summary>
    public abstract string Name { get; }

    /// <summary>A new state store instance on the test's database; not yet initialized.</summary>
    public abstract IStateStore NewStateStore(TimeProvider? clock = null);

    /// <summary>A new job store instance on the test's database; not yet initialized.</summary>
    public abstract IJobStore NewJobStore(TimeProvider clock);

    /// <summary>A new mount hint store instance on the test's database.</summary>
    public abstract IMountHintStore NewMountHintStore(TimeProvider clock);

    /// <summary>The first column of the first row of <paramref name="sql"/>, read outside the stores.</summary>
    public abstract Task<object?> ScalarAsync(string sql);

    /// <summary>Runs <paramref name="sql"/> outside the stores (rows "edited outside Orchestrator").</summary>
    public abstract Task ExecuteAsync(string sql);

    /// <summary>Closes every store made so far and its connections, as a process exit would; the data stays.</summary>
    public abstract Task ReleaseStoresAsync();

    /// <summary>Closes the stores and deletes the test's database.</summary>
    public abstract ValueTask DisposeAsync();
}
