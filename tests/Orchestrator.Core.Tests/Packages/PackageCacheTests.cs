using System.Security.Cryptography;
using System.Text;
using Orchestrator.Core.Packages;
using Orchestrator.Core.Ports;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Packages;

public sealed class PackageCacheTests : IDisposable
{
    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private sealed class IndexDownloader(Dictionary<string, byte[]> files) : IPackageDownloader
    {
        public List<string> Fetched { get; } = [];

        public Task<Stream> OpenAsync(Uri uri, CancellationToken cancellationToken = default)
        {
            Fetched.Add(uri.ToString());
            return Task.FromResult<Stream>(new MemoryStream(files[uri.ToString()]));
        }

        public Task<string> GetStringAsync(Uri uri, CancellationToken cancellationToken = default) =>
            Task.FromResult(Encoding.UTF8.GetString(files[uri.ToString()]));
    }

    [Fact]
    public async Task GetDistributionsAsync_HashlessIndexLinks_KeepsTheFileWhoseBytesHaveTheLockedHash_SecondCallFetchesNothing()
    {
        // Given an index page without hash fragments listing two files of greet 1.0.0, only one with the locked bytes
        var good = "the locked wheel"u8.ToArray();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(good));
        var downloader = new IndexDownloader(new Dictionary<string, byte[]>
        {
            ["http://index/simple/greet/"] = Encoding.UTF8.GetBytes("""<a href="greet-1.0.0.tar.gz">greet-1.0.0.tar.gz</a><a href="greet-1.0.0-py3-none-any.whl">greet-1.0.0-py3-none-any.whl</a>"""),
            ["http://index/simple/greet/greet-1.0.0.tar.gz"] = "an sdist"u8.ToArray(),
            ["http://index/simple/greet/greet-1.0.0-py3-none-any.whl"] = good,
        });
        var cache = new PackageCache(new FixedWorkspace(_harness.Workspace), _harness.Engine, new EnvironmentEngineCredentials(_ => null), downloader, _harness.Time);
        WantedDistribution[] wanted = [new("greet", "1.0.0", [sha256])];

        // When the distributions are asked for twice
        var first = Assert.Single(await cache.GetDistributionsAsync(wanted, "http://index/simple"));
        var fetched = downloader.Fetched.Count;
        var second = Assert.Single(await cache.GetDistributionsAsync(wanted, "http://index/simple"));

        // Then the wheel with the locked bytes is cached under its hash (the sdist refused), and the second call downloads nothing
        Assert.Equal(("greet-1.0.0-py3-none-any.whl", sha256), (first.FileName, first.Sha256));
        Assert.Equal(good, await File.ReadAllBytesAsync(first.Path));
        Assert.Equal(first.Path, second.Path);
        Assert.Equal(fetched, downloader.Fetched.Count);
        Assert.Equal("greet-1.0.0-py3-none-any.whl", second.FileName);
    }
}
