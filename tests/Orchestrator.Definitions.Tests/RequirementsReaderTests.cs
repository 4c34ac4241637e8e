using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions.Tests;

/// <summary>requirements.txt in hash-checking form: what is accepted, and every refusal at its line and column.</summary>
public sealed class RequirementsReaderTests : IDisposable
{
    private const string H1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string H2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "orch-req-" + Guid.NewGuid().ToString("N")[..8]);

    public RequirementsReaderTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string, string, string?, int> Accepted => new()
    {
        // text, name==version, marker, hash count
        { $"greet==1.0.0 --hash=sha256:{H1}", "greet==1.0.0", null, 1 },
        { $"greet==1.0.0 --hash sha256:{H1}", "greet==1.0.0", null, 1 },
        { $"Greet_Lib==2.3.post1 --hash=sha256:{H1} --hash=sha256:{H2}", "Greet_Lib==2.3.post1", null, 2 },
        { $"greet[fast,cli]==1.0rc1 --hash=sha256:{H1}", "greet==1.0rc1", null, 1 },
        { $"greet==1.0.0 ; python_version >= \"3.9\" --hash=sha256:{H1}", "greet==1.0.0", "python_version >= \"3.9\"", 1 },
        { $"greet == 1.0.0; sys_platform == \"linux\" and python_version < \"4\" --hash=sha256:{H1.ToUpperInvariant()}", "greet==1.0.0", "sys_platform == \"linux\" and python_version < \"4\"", 1 },
        { $"greet==1.0.0 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}", "greet==1.0.0", null, 2 },
        { $"# a comment\n\n   \ngreet==1.0.0 --hash=sha256:{H1}   # trailing comment", "greet==1.0.0", null, 1 },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Parse_PinnedAndHashed_ReadsNameVersionMarkerAndHashes(string text, string expected, string? marker, int hashes)
    {
        // Given a requirements file with one pinned, hashed requirement
        var diagnostics = new Diagnostics();

        // When it is read
        var result = RequirementsReader.Parse(Path.Combine(_root, "requirements.txt"), text, _root, diagnostics);

        // Then it is accepted as written, hashes lower-cased
        Assert.Equal(0, diagnostics.Count);
        var requirement = Assert.Single(result);
        Assert.Equal(expected, $"{requirement.Name.Split('[')[0]}=={requirement.Version}");
        Assert.Equal(marker, requirement.Marker);
        Assert.Equal(hashes, requirement.Sha256.Count);
        Assert.All(requirement.Sha256, h => Assert.Equal(h.ToLowerInvariant(), h));
    }

    public static TheoryData<string, int, int, string> Refused => new()
    {
        // text, line, column, a word the message must carry
        { "greet", 1, 6, "not pinned" },
        { $"greet>=1.0 --hash=sha256:{H1}", 1, 6, "not pinned" },
        { $"greet~=1.0 --hash=sha256:{H1}", 1, 6, "not pinned" },
        { $"greet==1.* --hash=sha256:{H1}", 1, 6, "not pinned" },
        { $"greet==1.0,<2 --hash=sha256:{H1}", 1, 6, "not pinned" },
        { "greet==1.0.0", 1, 12, "no --hash" },
        { $"# c\n\ngreet==1.0.0 ; python_version >= \"3.9\"", 3, 12, "no --hash" },
        { "greet==1.0.0 --hash=sha256:abc", 1, 14, "not a SHA-256" },
        { $"greet==1.0.0 --hash=md5:{H1[..32]}", 1, 14, "not a SHA-256" },
        { $"greet==1.0.0 --no-binary :all: --hash=sha256:{H1}", 1, 14, "not allowed" },
        { "-e ./app", 1, 1, "editable" },
        { "  --editable git+https://example.com/app.git", 1, 3, "editable" },
        { $"greet @ https://example.com/greet-1.0.0.tar.gz --hash=sha256:{H1}", 1, 6, "URL" },
        { $"https://example.com/greet-1.0.0-py3-none-any.whl --hash=sha256:{H1}", 1, 6, "URL" },
        { $"./wheels/greet-1.0.0-py3-none-any.whl --hash=sha256:{H1}", 1, 1, "URL" },
        { "--index-url https://pypi.org/simple", 1, 1, "python.index" },
        { "-f wheels/", 1, 1, "python.index" },
        { "-c constraints.txt", 1, 1, "not supported" },
        { $"greet==1.0.0 \\\n  --hash=sha256:{H1}\ngreet==1.0.0 --hash=sha256:{H2}", 3, 1, "listed twice" },
        { $"greet-lib==1.0.0 --hash=sha256:{H1}\nGREET_lib==2.0 --hash=sha256:{H2}", 2, 1, "listed twice" },
        { $"greet==1.0.0 \\\n   --hash=sha256:short", 2, 4, "not a SHA-256" },
        { $"greet==1.0.0 ; --hash=sha256:{H1}", 1, 14, "no environment marker" },
        { "-r", 1, 1, "names no file" },
        { "-r missing.txt", 1, 4, "does not exist" },
        { "-r ../outside.txt", 1, 4, "leaves the pipeline's folder" },
        { "-r requirements.txt", 1, 4, "already being read" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Parse_BadLine_IsRefusedAtItsLineAndColumn(string text, int line, int column, string words)
    {
        // Given a requirements file with one bad line
        var diagnostics = new Diagnostics();

        // When it is read
        var result = RequirementsReader.Parse(Path.Combine(_root, "requirements.txt"), text, _root, diagnostics);

        // Then exactly that line is refused where the problem starts, with what to do
        var error = Assert.Single(diagnostics.Sorted());
        Assert.Contains(words, error.Message + " " + error.Fix, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.NotNull(error.Fix);
        Assert.EndsWith("requirements.txt", error.File, StringComparison.Ordinal);
        Assert.True(result.Count <= 1);
    }

    [Fact]
    public void Read_Include_FollowsItRelativeToTheIncludingFileAndReportsItsOwnLines()
    {
        // Given requirements.txt including base/common.txt, which has one good and one hashless line
        Directory.CreateDirectory(Path.Combine(_root, "base"));
        File.WriteAllText(Path.Combine(_root, "base", "common.txt"), $"shared==3.1 --hash=sha256:{H2}\n\nhashless==1.0\n");
        File.WriteAllText(Path.Combine(_root, "requirements.txt"), $"greet==1.0.0 --hash=sha256:{H1}\n-r base/common.txt\n");
        var diagnostics = new Diagnostics();

        // When it is read
        var result = RequirementsReader.Read(Path.Combine(_root, "requirements.txt"), _root, diagnostics);

        // Then both files' good requirements come in file order, and the bad line is named in the included file
        Assert.Equal(["greet", "shared"], result.Select(r => r.Name));
        Assert.Contains("common.txt:1:1", result[1].Location, StringComparison.Ordinal);
        var error = Assert.Single(diagnostics.Sorted());
        Assert.EndsWith(Path.Combine("base", "common.txt"), error.File, StringComparison.Ordinal);
        Assert.Equal((3, 13), (error.Line, error.Column));
    }

    [Fact]
    public void Read_IncludeCycle_IsRefusedOnceWithTheChain()
    {
        // Given a.txt including b.txt including a.txt
        File.WriteAllText(Path.Combine(_root, "a.txt"), $"greet==1.0.0 --hash=sha256:{H1}\n-r b.txt\n");
        File.WriteAllText(Path.Combine(_root, "b.txt"), "-r a.txt\n");
        var diagnostics = new Diagnostics();

        // When a.txt is read
        var result = RequirementsReader.Read(Path.Combine(_root, "a.txt"), _root, diagnostics);

        // Then the include closing the cycle is refused, naming the chain
        Assert.Single(result);
        var error = Assert.Single(diagnostics.Sorted());
        Assert.Contains("a.txt -> b.txt -> a.txt", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("b.txt", error.File, StringComparison.Ordinal);
    }

    [Fact]
    public void ToRequirementLine_Requirement_RoundTripsThroughTheReader()
    {
        // Given a requirement with a marker and two hashes
        var diagnostics = new Diagnostics();
        var first = Assert.Single(RequirementsReader.Parse(Path.Combine(_root, "r.txt"), $"greet==1.0.0; python_version >= \"3.9\" --hash=sha256:{H1} --hash=sha256:{H2}", _root, diagnostics));

        // When it is written as a line and read back
        var again = Assert.Single(RequirementsReader.Parse(Path.Combine(_root, "r.txt"), first.ToRequirementLine(), _root, diagnostics));

        // Then nothing is lost
        Assert.Equal(0, diagnostics.Count);
        Assert.Equal((first.Name, first.Version, first.Marker), (again.Name, again.Version, again.Marker));
        Assert.Equal(first.Sha256, again.Sha256);
    }

    [Fact]
    public void Parse_Loose_AcceptsRangesAndMissingHashesButStillRefusesUrlsAndEditables()
    {
        // Given a requirements.in with a range, a bare name with extras and a marker, a URL and an editable
        var diagnostics = new Diagnostics();
        var text = "greet>=1.0,<2\nhello-devtools[cli] ; python_version >= \"3.9\"\nother @ https://example.com/o.whl\n-e ./app\n";

        // When it is read loosely
        var result = RequirementsReader.Parse(Path.Combine(_root, "requirements.in"), text, _root, diagnostics, loose: true);

        // Then the loose lines come back as pip reads them, and the URL and editable are refused at their lines
        Assert.Equal(["greet>=1.0,<2", "hello-devtools[cli] ; python_version >= \"3.9\""], result.Select(r => r.Version));
        Assert.Equal([3, 4], diagnostics.Sorted().Select(e => e.Line));
    }

    [Theory]
    [InlineData("Greet_Lib", "greet-lib")]
    [InlineData("greet.lib", "greet-lib")]
    [InlineData("GREET--_.lib", "greet-lib")]
    [InlineData("greet", "greet")]
    public void Normalize_Name_FollowsPep503(string name, string expected) =>
        Assert.Equal(expected, Core.Definitions.PythonRequirement.Normalize(name));
}
