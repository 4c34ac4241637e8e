using Orchestrator.Core.Locks;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>A package cache that hands out small files (their content names the package) and records what was asked.</summary>
internal sealed class FakePackageCache(string folder) : IPackageCache
{
    public List<(LockedPackage Package, ImageReference ResolveOn)> Requested { get; } = [];

    public Task<IReadOnlyList<CachedPackage>> GetDebsAsync(IReadOnlyList<LockedPackage> packages, ImageReference resolveOn, IJobReporter? reporter = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(folder);
        var result = new List<CachedPackage>();
        foreach (var package in packages)
        {
            Requested.Add((package, resolveOn));
            var path = Path.Combine(folder, CachedPackage.DebFileNameOf(package));
            File.WriteAllText(path, $"deb {package.Name} {package.Version}");
            result.Add(new CachedPackage(package, path));
        }

        return Task.FromResult<IReadOnlyList<CachedPackage>>(result);
    }

    public Task<IReadOnlyList<CachedDistribution>> GetDistributionsAsync(IReadOnlyList<WantedDistribution> distributions, string index, IJobReporter? reporter = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(folder);
        var result = distributions.Select(d =>
        {
            var name = $"{d.Name}-{d.Version}-py3-none-any.whl";
            var path = Path.Combine(folder, name);
            File.WriteAllText(path, name);
            return new CachedDistribution(d, name, d.Sha256[0], path);
        }).ToList();
        return Task.FromResult<IReadOnlyList<CachedDistribution>>(result);
    }
}
