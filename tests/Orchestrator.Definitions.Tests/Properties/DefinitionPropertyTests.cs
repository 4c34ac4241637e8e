using System.Text;
using CsCheck;
using Xunit.Abstractions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Tests.Properties;

namespace Orchestrator.Definitions.Tests.Properties;

/// <summary>
/// Property tests of the definition readers through their public entry point, <see cref="WorkspaceLoader.LoadAsync"/>:
/// generated valid pipelines, base images, orchestrator.yaml files and requirements lines load as written; mutated
/// ones (characters, lines, indentation, YAML syntax, bytes that are not UTF-8) load or are refused with a
/// <see cref="DefinitionException"/> whose every error names a written file at a line and column inside it, never
/// another exception. Seeded and bounded: a few hundred workspaces each, a few seconds.
/// </summary>
public sealed class DefinitionPropertyTests(ITestOutputHelper output) : IDisposable
{
    private const int ValidIterations = 200;
    private const int MutatedIterations = 400;
    private const string RequirementsHash = "69d6f81ae45b4652165436b5f95209845dbb7c95613982dd78760c388d169437";

    private readonly TestWorkspace _workspace = new();
    private int _loads;
    private int _refusals;

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task LoadAsync_GeneratedValidPipeline_LoadsWithEveryValueAsWritten()
    {
        await SeededSample.RunAsync(DefinitionGenerators.ValidPipeline, async generated =>
        {
            // Given a pipeline built from the rules (name, version, base, repository, pinned apt packages, env, tags)
            var path = WritePipeline(generated.Name, Encoding.UTF8.GetBytes(generated.Text));

            // When the workspace is loaded
            Workspace workspace;
            try
            {
                workspace = await _workspace.LoadAsync();
            }
            catch (DefinitionException refused)
            {
                throw new Xunit.Sdk.XunitException($"a valid pipeline was refused: {refused.Message}");
            }

            // Then it loads with each value as written
            var pipeline = workspace.GetPipeline(generated.Name);
            Assert.Equal((generated.Version, generated.Repository, path), (pipeline.Version, pipeline.Repository, pipeline.SourceFile));
            Assert.Equal(generated.Apt.Select(a => $"{a.Name}={a.Version}"), pipeline.AptPackages.Select(p => p.ToString()));
            Assert.Equal(generated.RenderedTags, pipeline.Tags);
            Assert.Equal(generated.Env.Select(e => new KeyValuePair<string, string>(e.Name, e.Value)), pipeline.Env);
        }, ValidIterations, seed: 1, print: g => g.Text);
    }

    [Fact]
    public async Task LoadAsync_MutatedPipeline_LoadsOrRefusesWithDefinitionErrorsInsideTheFile()
    {
        await SeededSample.RunAsync(DefinitionGenerators.Mutated(DefinitionGenerators.ValidPipeline.Select(p => p.Text)), async bytes =>
        {
            // Given a valid pipeline with random edits, written as app.yaml
            WritePipeline("app", bytes);

            // When the workspace is loaded, Then it loads or is refused only with located definition errors
            await AssertLoadsOrRefusesWithLocatedErrorsAsync();
        }, MutatedIterations, seed: 2, print: Printable);
        AssertMutationsWereRefusedOften();
    }

    [Fact]
    public async Task LoadAsync_GeneratedValidBaseImage_LoadsItsRepositoryAndVariants()
    {
        await SeededSample.RunAsync(DefinitionGenerators.ValidBaseImage, async text =>
        {
            // Given a base image built from the rules
            _workspace.Write("base-images/debian-bookworm.yaml", text);
            ClearPipelines();

            // When loaded, Then it is accepted with its repository and full variant
            var definition = (await _workspace.LoadAsync()).Bases["debian-bookworm"];
            Assert.Contains($"repository: {definition.Repository}\n", text, StringComparison.Ordinal);
            Assert.Contains("full", definition.Variants.Keys);
            Assert.Equal(text.Contains("slim:", StringComparison.Ordinal), definition.Variants.ContainsKey("slim"));
        }, ValidIterations, seed: 3);
    }

    [Fact]
    public async Task LoadAsync_MutatedBaseImage_LoadsOrRefusesWithDefinitionErrorsInsideTheFile()
    {
        await SeededSample.RunAsync(DefinitionGenerators.Mutated(DefinitionGenerators.ValidBaseImage), async bytes =>
        {
            // Given a valid base image with random edits, and a pipeline on it
            await File.WriteAllBytesAsync(_workspace.PathOf("base-images/debian-bookworm.yaml"), bytes);
            WritePipeline("app", Encoding.UTF8.GetBytes(TestWorkspace.Pipeline));

            // When loaded, Then it loads or is refused only with located definition errors
            await AssertLoadsOrRefusesWithLocatedErrorsAsync();
        }, MutatedIterations, seed: 4, print: Printable);
        AssertMutationsWereRefusedOften();
    }

    [Fact]
    public async Task LoadAsync_GeneratedValidConfig_LoadsItsStagesInOrder()
    {
        await SeededSample.RunAsync(DefinitionGenerators.ValidConfig, async text =>
        {
            // Given an orchestrator.yaml built from the rules (stages, a registry each: loopback http or https)
            _workspace.Write("orchestrator.yaml", text);
            _workspace.Write("base-images/debian-bookworm.yaml", TestWorkspace.Base);
            ClearPipelines();

            // When loaded, Then every stage is there, in the order written
            var config = (await _workspace.LoadAsync()).Config;
            var written = text[(text.IndexOf('[') + 1)..text.IndexOf(']')].Split(", ");
            Assert.Equal(written, config.Stages.Select(s => s.Name));
        }, ValidIterations, seed: 5);
    }

    [Fact]
    public async Task LoadAsync_MutatedConfig_LoadsOrRefusesWithDefinitionErrorsInsideTheFile()
    {
        await SeededSample.RunAsync(DefinitionGenerators.Mutated(DefinitionGenerators.ValidConfig), async bytes =>
        {
            // Given a valid orchestrator.yaml with random edits
            await File.WriteAllBytesAsync(_workspace.ConfigPath, bytes);
            _workspace.Write("base-images/debian-bookworm.yaml", TestWorkspace.Base);
            ClearPipelines();

            // When loaded, Then it loads or is refused only with located definition errors
            await AssertLoadsOrRefusesWithLocatedErrorsAsync();
        }, MutatedIterations, seed: 6, print: Printable);
        AssertMutationsWereRefusedOften();
    }

    [Fact]
    public async Task LoadAsync_GeneratedValidRequirementLine_IsReadWithItsNameVersionAndHashes()
    {
        await SeededSample.RunAsync(DefinitionGenerators.ValidRequirement, async generated =>
        {
            // Given a Python pipeline whose requirements file holds one pinned, hashed requirement
            WritePythonPipeline(Encoding.UTF8.GetBytes(generated.Line + "\n"));

            // When loaded, Then it is read with the name, version and hashes written
            Workspace workspace;
            try
            {
                workspace = await _workspace.LoadAsync();
            }
            catch (DefinitionException refused)
            {
                throw new Xunit.Sdk.XunitException($"a valid requirement was refused: {refused.Message}");
            }

            var requirement = Assert.Single(workspace.GetPipeline("app").Python!.Requirements);
            Assert.Equal((generated.Name, generated.Version), (requirement.Name, requirement.Version));
            Assert.Equal(generated.Hashes, requirement.Sha256);
        }, ValidIterations, seed: 7, print: g => g.Line);
    }

    [Fact]
    public async Task LoadAsync_MutatedRequirementLines_LoadOrAreRefusedWithDefinitionErrorsInsideTheFile()
    {
        var lines = DefinitionGenerators.ValidRequirement.Array[1, 3].Select(r => string.Join('\n', r.Select(l => l.Line)) + "\n");
        await SeededSample.RunAsync(DefinitionGenerators.Mutated(lines), async bytes =>
        {
            // Given a Python pipeline whose requirements file is valid lines with random edits
            WritePythonPipeline(bytes);

            // When loaded, Then it loads or is refused only with located definition errors
            await AssertLoadsOrRefusesWithLocatedErrorsAsync();
        }, MutatedIterations / 2, seed: 8, print: Printable);
        AssertMutationsWereRefusedOften();
    }

    /// <summary>
    /// Loads the workspace: either it loads, or it throws <see cref="DefinitionException"/> whose every error names
    /// a file that exists at a line and column inside it (the line after the last, column 1, for "missing at the end").
    /// </summary>
    private async Task AssertLoadsOrRefusesWithLocatedErrorsAsync()
    {
        _loads++;
        Exception? thrown = null;
        try
        {
            await _workspace.LoadAsync();
        }
        catch (Exception exception)
        {
            thrown = exception;
        }

        if (thrown is null)
        {
            return;
        }

        var refused = Assert.IsType<DefinitionException>(thrown, exactMatch: true);
        _refusals++;
        Assert.NotEmpty(refused.Errors);
        foreach (var error in refused.Errors)
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Message), $"an error without a message: {error}");
            var path = Path.GetFullPath(Path.Combine(_workspace.Root, error.File));
            Assert.True(File.Exists(path), $"the error names a file that does not exist: {error}");
            // Lines as the readers count them: YAML 1.1 and pip also break lines at NEL, U+2028 and U+2029.
            var lines = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(path)).ReplaceLineEndings("\n").Split('\n');
            Assert.True(error.Line >= 1 && error.Line <= lines.Length + 1, $"line {error.Line} is outside the file's {lines.Length} line(s): {error}");
            var lineLength = error.Line <= lines.Length ? lines[error.Line - 1].Length : 0;
            Assert.True(error.Column >= 1 && error.Column <= lineLength + 2, $"column {error.Column} is outside line {error.Line} ({lineLength} characters): {error}");
        }
    }

    /// <summary>A generator whose edits never break anything would prove nothing: at least a tenth must be refused.</summary>
    private void AssertMutationsWereRefusedOften()
    {
        output.WriteLine($"{_refusals} of {_loads} mutated workspaces refused, the rest loaded");
        Assert.True(_refusals >= _loads / 10, $"only {_refusals} of {_loads} mutated workspaces were refused; the mutations are too weak");
    }

    private string WritePipeline(string name, byte[] bytes)
    {
        ClearPipelines();
        var path = _workspace.PathOf($"pipelines/{name}.yaml");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private void WritePythonPipeline(byte[] requirements)
    {
        ClearPipelines();
        _workspace.Write("pipelines/app/src/pyproject.toml", "[project]\nname = \"app\"\nversion = \"1.0.0\"\n");
        _workspace.Write("pipelines/app/wheels/README.md", "wheelhouse\n");
        File.WriteAllBytes(_workspace.PathOf("pipelines/app/requirements.txt"), requirements);
        _workspace.Write("pipelines/app.yaml", TestWorkspace.Pipeline + """

            python:
              project: app/src
              requirements: app/requirements.txt
              find-links: app/wheels
              build-packages:
                python3: "3.11.2-1+b1"
                python3-pip: "23.0.1+dfsg-1"
                python3-setuptools: "66.1.1-1+deb12u2"
                python3-wheel: "0.38.4-2"
            """);
    }

    private void ClearPipelines()
    {
        var folder = _workspace.PathOf("pipelines");
        Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
    }

    private static string Printable(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
