using System.Text;

namespace Orchestrator.Docker.Tests;

public sealed class PathStatHeaderTests
{
    [Fact]
    public void Decode_RegularFile_HasSizeAndIsNeitherDirectoryNorSymlink()
    {
        // Given the header the engine sends for a 0644 file of 1234 bytes
        var header = Encode("{\"name\":\"hello.txt\",\"size\":1234,\"mode\":420,\"mtime\":\"2024-01-01T00:00:00Z\",\"linkTarget\":\"\"}");

        // When decoded
        var stat = PathStatHeader.Decode(header);

        // Then
        Assert.Equal("hello.txt", stat.Name);
        Assert.Equal(1234, stat.Size);
        Assert.Equal(420u, stat.Mode);
        Assert.False(stat.IsDirectory);
        Assert.False(stat.IsSymlink);
    }

    [Fact]
    public void Decode_Directory_HasTheDirectoryBit()
    {
        // Given a 0755 directory: Go's os.ModeDir is 1<<31, i.e. 2147484141 with the permissions
        var header = Encode("{\"name\":\"etc\",\"size\":4096,\"mode\":2147484141,\"mtime\":\"2024-01-01T00:00:00Z\",\"linkTarget\":\"\"}");

        // When decoded
        var stat = PathStatHeader.Decode(header);

        // Then
        Assert.True(stat.IsDirectory);
        Assert.False(stat.IsSymlink);
        Assert.Equal((1u << 31) | 493u, stat.Mode);
    }

    [Fact]
    public void Decode_Symlink_HasTheSymlinkBitAndTarget()
    {
        // Given a symlink: os.ModeSymlink is 1<<27
        var mode = (1u << 27) | 511u;
        var header = Encode($"{{\"name\":\"sh\",\"size\":4,\"mode\":{mode},\"mtime\":\"2024-01-01T00:00:00Z\",\"linkTarget\":\"/bin/dash\"}}");

        // When decoded
        var stat = PathStatHeader.Decode(header);

        // Then
        Assert.True(stat.IsSymlink);
        Assert.False(stat.IsDirectory);
        Assert.Equal("/bin/dash", stat.LinkTarget);
    }

    [Theory]
    [InlineData("not base64!!")]
    [InlineData("bm90IGpzb24=")] // "not json"
    public void Decode_Garbage_ThrowsFormatException(string header)
    {
        Assert.Throws<FormatException>(() => PathStatHeader.Decode(header));
    }

    private static string Encode(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
}
