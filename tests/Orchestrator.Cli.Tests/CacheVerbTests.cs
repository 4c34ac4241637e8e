using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Core.Packages;

namespace Orchestrator.Cli.Tests;

/// <summary>Issue 16: <c>orchestrator cache ls|prune</c> over a real package cache folder beside the workspace's state file.</summary>
public sealed class CacheVerbTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    private string CacheFolder => Path.Combine(_workspace.Root, "state", "cache");

    public void Dispose() => _workspace.Dispose();

    private async Task<string> SeedAsync(string name, string content)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await new PackageStore(CacheFolder).AddAsync(
            new MemoryStream(bytes), new PackageCacheEntry(sha256, name, "1.0-1", "amd64", "deb", $"{name}_1.0-1_amd64.deb"), "test");
        return sha256;
    }

    [Fact]
    public async Task CacheLs_TwoCachedDebs_TableAndJsonListEach()
    {
        // Given two cached .debs
        var hello = await SeedAsync("hello", "hello bytes");
        await SeedAsync("libc6", "libc6 bytes!");

        // When listed, as a table and as JSON
        var (exitCode, stdout, stderr) = await _workspace.RunAsync("cache", "ls");
        var (jsonExit, json, _) = await _workspace.RunAsync("cache", "ls", "--json");

        // Then both name each package with version, arch, kind and size
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("NAME", stdout, StringComparison.Ordinal);
        Assert.Contains("hello  ", stdout, StringComparison.Ordinal);
        Assert.Contains("2 file(s), 23 B", stdout, StringComparison.Ordinal);
        Assert.Equal(0, jsonExit);
        using var document = JsonDocument.Parse(json);
        var entries = document.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["hello", "libc6"], entries.Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(hello, entries[0].GetProperty("sha256").GetString());
        Assert.Equal(11, entries[0].GetProperty("size").GetInt64());
        Assert.Equal(23, document.RootElement.GetProperty("totalBytes").GetInt64());
    }

    [Fact]
    public async Task CachePrune_DryRunThenAll_OnlyTheRealRunRemoves()
    {
        // Given one cached .deb
        var sha256 = await SeedAsync("hello", "hello bytes");

        // When pruned as a dry run, then for real
        var (dryExit, dry, _) = await _workspace.RunAsync("cache", "prune", "--all", "--dry-run");
        var kept = File.Exists(Path.Combine(CacheFolder, "sha256", sha256));
        var (exitCode, stdout, _) = await _workspace.RunAsync("cache", "prune", "--all", "--json");

        // Then the dry run only says what would go, and the real one removes it
        Assert.Equal(0, dryExit);
        Assert.Contains("would remove 1 file(s)", dry, StringComparison.Ordinal);
        Assert.True(kept);
        Assert.Equal(0, exitCode);
        using var document = JsonDocument.Parse(stdout);
        Assert.Equal("hello", document.RootElement.GetProperty("removed")[0].GetProperty("name").GetString());
        Assert.Equal(0, document.RootElement.GetProperty("kept").GetInt32());
        Assert.False(File.Exists(Path.Combine(CacheFolder, "sha256", sha256)));
    }

    [Theory]
    [InlineData(new string[0], "--older-than DAYS")]
    [InlineData(new[] { "--all", "--older-than", "3" }, "not both")]
    [InlineData(new[] { "--older-than", "-2" }, "0 or more")]
    public async Task CachePrune_BadArguments_ExitTwoSayingWhatToPass(string[] arguments, string expected)
    {
        // Given prune with no selection, two selections or a negative age; When run
        var (exitCode, _, stderr) = await _workspace.RunAsync(["cache", "prune", .. arguments]);

        // Then it is bad input with the fix
        Assert.Equal(2, exitCode);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }
}
