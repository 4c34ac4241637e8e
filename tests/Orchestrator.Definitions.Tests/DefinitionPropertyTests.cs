using System.Text;
using CsCheck;
using Orchestrator.Core.Errors;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Definitions.Tests;

/// <summary>
/// Property tests of the bad-input suite: whatever bytes a definition holds, loading answers with a
/// workspace or with <see cref="DefinitionException"/> (each error at a real line and column), never
/// with another exception, a hang or a crash of the YAML parser.
/// </summary>
public sealed class DefinitionPropertyTests
{
    // Pieces of YAML (and of things that are not), so generated files get past the first character.
    private static readonly string[] Tokens =
    [
        "name: ", "app", "version: ", "1.0.0", "base: ", "deb/slim", "debian-bookworm/slim", "repository: ", "apps/app", "tags: ",
        "\"{version}\"", "latest", "validate:", "commands:", "run: ", "user: ", "packages:", "apt:", "curl: ", "\"7.88-1\"",
        "\n", "\n  ", "\n    ", "  ", "- ", "[", "]", "{", "}", ": ", ", ", "\"", "'", "\t", "&a ", "*a", "? ", "|", ">", "#",
        "---\n", "...\n", "!!binary ", "!x ", "%YAML 1.1\n", "\u00e9", "\uFEFF", "\0", "~", "null", "-1", "0x1F", "1e400",
    ];

    [Fact]
    public void LoadAsync_PipelineMadeOfYamlPieces_AnswersWithWorkspaceOrDefinitionErrorsOnly()
    {
        // Given pipeline files made of random YAML pieces
        using var ws = new TestWorkspace();
        var path = ws.PathOf("pipelines/app.yaml");
        var files = Gen.OneOf(Tokens).Array[0, 80].Select(pieces => Encoding.UTF8.GetBytes(string.Concat(pieces)));

        // When each is loaded, Then only a workspace or well-placed definition errors come back
        Recorded("property: pipeline from YAML pieces (400 files)", () => files.Sample(bytes => LoadsOrRefusesCleanly(ws, path, bytes), iter: 400, threads: 1));
    }

    [Fact]
    public void LoadAsync_SamplePipelineWithBytesReplaced_AnswersWithWorkspaceOrDefinitionErrorsOnly()
    {
        // Given the valid test pipeline with up to 6 bytes replaced by any byte (invalid UTF-8 included)
        using var ws = new TestWorkspace();
        var path = ws.PathOf("pipelines/app.yaml");
        var original = Encoding.UTF8.GetBytes(TestWorkspace.Pipeline.ReplaceLineEndings("\n"));
        var files = Gen.Select(Gen.Int[0, original.Length - 1], Gen.Byte).Array[1, 6].Select(edits =>
        {
            var bytes = (byte[])original.Clone();
            foreach (var (at, value) in edits)
            {
                bytes[at] = value;
            }

            return bytes;
        });

        // When each is loaded, Then only a workspace or well-placed definition errors come back
        Recorded("property: sample pipeline with bytes replaced (400 files)", () => files.Sample(bytes => LoadsOrRefusesCleanly(ws, path, bytes), iter: 400, threads: 1));
    }

    [Fact]
    public void LoadAsync_ConfigMadeOfYamlPieces_AnswersWithWorkspaceOrDefinitionErrorsOnly()
    {
        // Given orchestrator.yaml files made of random pieces around a valid start
        using var ws = new TestWorkspace();
        var path = ws.ConfigPath;
        var files = Gen.OneOf<string>([.. Tokens, "stages: ", "registries:", "staging: ", "url: ", "http://127.0.0.1:5001", "username-env: ", "insecure: ", "true"])
            .Array[0, 60].Select(pieces => Encoding.UTF8.GetBytes(TestWorkspace.Config + "\n" + string.Concat(pieces)));

        // When each is loaded, Then only a workspace or well-placed definition errors come back
        Recorded("property: orchestrator.yaml from YAML pieces (300 files)", () => files.Sample(bytes => LoadsOrRefusesCleanly(ws, path, bytes), iter: 300, threads: 1));
    }

    /// <summary>Runs one property and records it as one try of the bad-input suite, then rethrows a failure.</summary>
    private static void Recorded(string tryName, Action property)
    {
        try
        {
            property();
            SuiteFigures.Record("bad-input", tryName, SuiteOutcome.Success, "every file loaded or was refused with definition errors");
        }
        catch (Exception e)
        {
            SuiteFigures.Record("bad-input", tryName, SuiteOutcome.Inconsistent, e.Message);
            throw;
        }
    }

    private static void LoadsOrRefusesCleanly(TestWorkspace ws, string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        try
        {
            ws.LoadAsync().GetAwaiter().GetResult();
        }
        catch (DefinitionException e)
        {
            Assert.NotEmpty(e.Errors);
            Assert.All(e.Errors, error =>
            {
                Assert.True(error.Line >= 1 && error.Column >= 1, $"position {error.Line}:{error.Column}");
                Assert.False(string.IsNullOrWhiteSpace(error.Message));
                Assert.True(File.Exists(error.File) || Path.IsPathRooted(error.File) || error.File.EndsWith(".yaml", StringComparison.Ordinal), error.File);
            });
        }
    }
}
