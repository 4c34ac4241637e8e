using Orchestrator.Core.Definitions;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.Tests.Fakes;

/// <summary>Writes a small stand-in tar in a fresh folder under the work directory, as the real builder does.</summary>
internal sealed class FakeRootfsBuilder : IRootfsBuilder
{
    public static readonly byte[] TarContent = TestTars.Files(
        new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), ("etc/os-release", "PRETTY_NAME=\"a stand-in root filesystem\"\n"), ("bin/sh", "#!fake\n"));

    /// <summary>The source date the stand-in reports (2024-06-01T00:00:00Z).</summary>
    public const long SourceDateEpoch = 1717200000;

    public List<(string Image, string Variant, string WorkDirectory)> Calls { get; } = [];

    /// <summary>The tars written, so tests can check they were deleted.</summary>
    public List<string> TarPaths { get; } = [];

    public async Task<RootfsArchive> BuildAsync(BaseImageDefinition image, BaseVariantDefinition variant, string workDirectory, IProgress<string>? log = null, CancellationToken cancellationToken = default)
    {
        Calls.Add((image.Name, variant.Name, workDirectory));
        var folder = Path.Combine(workDirectory, $"rootfs-{variant.Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var tar = Path.Combine(folder, "rootfs.tar");
        await File.WriteAllBytesAsync(tar, TarContent, cancellationToken);
        TarPaths.Add(tar);
        log?.Report("I: Base system installed successfully.");
        return new RootfsArchive(tar, variant.Suite, "http://deb.example/debian", "http://deb.example/debian-security", TarContent.Length) { SourceDateEpoch = SourceDateEpoch };
    }
}
