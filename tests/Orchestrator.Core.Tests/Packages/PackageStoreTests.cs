using System.Security.Cryptography;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Packages;

namespace Orchestrator.Core.Tests.Packages;

public sealed class PackageStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("pkgcache-store-").FullName;
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (byte[] Bytes, string Sha256) Deb(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static PackageCacheEntry Entry(string sha256, string name = "hello") => new(sha256, name, "2.10-3", "amd64", "deb", $"{name}_2.10-3_amd64.deb");

    [Fact]
    public async Task AddAsync_MatchingBytes_StoredUnderTheirHashAndListed()
    {
        // Given a store and bytes whose hash is the lock's
        var store = new PackageStore(_folder, _time);
        var (bytes, sha256) = Deb("a deb");

        // When they are added
        var path = await store.AddAsync(new MemoryStream(bytes), Entry(sha256), "http://mirror/hello.deb");

        // Then the file is named by its hash, holds the bytes, and the index says what it is
        Assert.Equal(Path.Combine(_folder, "sha256", sha256), path);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        var listed = Assert.Single(store.List());
        Assert.Equal(("hello", "2.10-3", "amd64", "deb", (long)bytes.Length, Now), (listed.Name, listed.Version, listed.Architecture, listed.Kind, listed.Size, listed.LastUsed));
        Assert.Equal(path, await store.TryGetVerifiedAsync(sha256, "hello 2.10-3 amd64"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "tmp")));
    }

    [Fact]
    public async Task AddAsync_BytesNotMatchingTheLock_RefusedNamingPackageAndBothHashes_NothingStored()
    {
        // Given bytes that are not what the lock recorded
        var store = new PackageStore(_folder, _time);
        var (_, expected) = Deb("the locked deb");
        var (tampered, actual) = Deb("a tampered deb");

        // When they are added
        var error = await Assert.ThrowsAsync<PackageIntegrityException>(() => store.AddAsync(new MemoryStream(tampered), Entry(expected), "http://mirror/hello.deb"));

        // Then the refusal names the package, both hashes and the source, and nothing is cached
        Assert.Contains("hello 2.10-3 amd64", error.Message, StringComparison.Ordinal);
        Assert.Contains($"sha256:{expected}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"sha256:{actual}", error.Message, StringComparison.Ordinal);
        Assert.Contains("http://mirror/hello.deb", error.Message, StringComparison.Ordinal);
        Assert.Empty(store.List());
        Assert.Null(await store.TryGetVerifiedAsync(expected, "hello"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "tmp")));
    }

    [Fact]
    public async Task TryGetVerifiedAsync_FileChangedOnDisk_RefusedWithBothHashesAndRemoved()
    {
        // Given a cached file whose bytes were changed under its hash name
        var store = new PackageStore(_folder, _time);
        var (bytes, sha256) = Deb("a deb");
        var path = await store.AddAsync(new MemoryStream(bytes), Entry(sha256), "http://mirror/hello.deb");
        await File.WriteAllTextAsync(path, "changed");
        var actual = Convert.ToHexStringLower(SHA256.HashData("changed"u8.ToArray()));

        // When it is taken for a build
        var error = await Assert.ThrowsAsync<PackageIntegrityException>(() => store.TryGetVerifiedAsync(sha256, "hello 2.10-3 amd64"));

        // Then it is refused naming the package and both hashes, and removed so the next fetch stores good bytes
        Assert.Equal(("hello 2.10-3 amd64", sha256, actual), (error.Package, error.Expected, error.Actual));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Prune_OlderThan_RemovesOnlyWhatWasNotUsedSince_DryRunRemovesNothing()
    {
        // Given one file used 40 days ago and one used now
        var store = new PackageStore(_folder, _time);
        var (oldBytes, oldSha) = Deb("old");
        await store.AddAsync(new MemoryStream(oldBytes), Entry(oldSha, "old"), "x");
        _time.Now += TimeSpan.FromDays(40);
        var (newBytes, newSha) = Deb("new");
        await store.AddAsync(new MemoryStream(newBytes), Entry(newSha, "new"), "x");

        // When pruning older than 30 days, first as a dry run
        var dry = store.Prune(TimeSpan.FromDays(30), all: false, dryRun: true);
        var pruned = store.Prune(TimeSpan.FromDays(30), all: false, dryRun: false);

        // Then only the old one goes, and only the second time
        Assert.Equal("old", Assert.Single(dry).Name);
        Assert.Equal("old", Assert.Single(pruned).Name);
        Assert.Equal("new", Assert.Single(store.List()).Name);
        Assert.Equal("new", Assert.Single(store.Prune(null, all: true, dryRun: false)).Name);
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task TryGetVerifiedAsync_Used_MovesLastUsedSoPruneKeepsIt()
    {
        // Given a file fetched 40 days ago and used by a build now
        var store = new PackageStore(_folder, _time);
        var (bytes, sha256) = Deb("a deb");
        await store.AddAsync(new MemoryStream(bytes), Entry(sha256), "x");
        _time.Now += TimeSpan.FromDays(40);
        await store.TryGetVerifiedAsync(sha256, "hello");

        // When pruning older than 30 days
        var pruned = store.Prune(TimeSpan.FromDays(30), all: false, dryRun: false);

        // Then it stays
        Assert.Empty(pruned);
        Assert.Equal(_time.GetUtcNow(), Assert.Single(store.List()).LastUsed);
    }
}
