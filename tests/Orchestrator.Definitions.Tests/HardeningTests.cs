using System.Text;
using Orchestrator.Core.Errors;

namespace Orchestrator.Definitions.Tests;

/// <summary>Issue 11's holes in the definitions: bytes that are not UTF-8, size limits, credentials in clear, pasted secrets, scope.</summary>
public sealed class HardeningTests
{
    [Fact]
    public async Task LoadAsync_Latin1ByteInPipeline_RefusedAtItsLineAndColumnAsNotUtf8()
    {
        // Given a pipeline whose label value holds a Latin-1 'é' (0xE9) on line 9, column 20
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nlabels: { author: Ren\u00e9 }\n";
        var path = ws.PathOf("pipelines/app.yaml");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(text));

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused there, as not UTF-8, instead of becoming U+FFFD
        error.AssertAt(path, text, "\u00e9");
        error.AssertSays("not UTF-8", "save the file as UTF-8");
        Assert.Contains("0xE9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_Utf8WithByteOrderMark_Accepted()
    {
        // Given a pipeline saved as UTF-8 with a BOM and a non-ASCII label
        using var ws = new TestWorkspace();
        File.WriteAllBytes(ws.PathOf("pipelines/app.yaml"), [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(TestWorkspace.Pipeline + "\nlabels: { author: Ren\u00e9 }\n")]);

        // When loaded
        var workspace = await ws.LoadAsync();

        // Then the label keeps its character
        Assert.Equal("Ren\u00e9", Assert.Single(workspace.Pipelines["app"].Labels).Value);
    }

    [Fact]
    public async Task LoadAsync_FileOverOneMebibyte_RefusedAtStartNamingTheLimit()
    {
        // Given a pipeline padded with a comment past 1 MiB
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\n# " + new string('x', DefinitionLimits.MaxFileBytes) + "\n");

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused at 1:1, saying the limit
        Assert.Equal((path, 1, 1), (error.File, error.Line, error.Column));
        Assert.Contains("larger than the limit of 1 MiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_PipelineLinkedToEndlessDevice_RefusedAtTheLimitInsteadOfReadingForever()
    {
        // Given pipelines/app.yaml as a symlink to /dev/zero, which has no length and never ends
        using var ws = new TestWorkspace();
        var path = ws.PathOf("pipelines/app.yaml");
        File.CreateSymbolicLink(path, "/dev/zero");

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then reading stops one byte past the limit and the file is refused
        Assert.Equal((path, 1, 1), (error.File, error.Line, error.Column));
        Assert.Contains("larger than the limit of 1 MiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_UserValueOverScalarLimit_RefusedAtValueWithoutQuotingIt()
    {
        // Given a pipeline whose user is 10,000 characters long
        using var ws = new TestWorkspace();
        var huge = new string('u', 10_000);
        var text = TestWorkspace.Pipeline + $"\nuser: {huge}\n";
        var path = ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused at the value, with the length and the limit, never the value itself
        error.AssertAt(path, text, huge);
        error.AssertSays($"a value of 10000 characters is longer than the limit of {DefinitionLimits.MaxScalarChars}", "shorten it");
        Assert.DoesNotContain("uuuuuuuu", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_ListsNestedDeeperThanLimit_RefusedWithoutCrashing()
    {
        // Given a label value nested 40 lists deep
        using var ws = new TestWorkspace();
        var path = ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\ncmd: " + new string('[', 40) + new string(']', 40) + "\n");

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the nesting is refused in that file, naming the limit
        Assert.Equal(path, error.File);
        Assert.Contains($"nested more than {DefinitionLimits.MaxDepth} deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_AliasesOfAliases_RefusedAsExpandingTooFar()
    {
        // Given a "billion laughs" file: nine levels of ten aliases each
        using var ws = new TestWorkspace();
        var text = new StringBuilder(TestWorkspace.Pipeline.Replace("tags: [\"{version}\", latest]", string.Empty, StringComparison.Ordinal)).Append("\nlabels: {}\nx0: &a0 [lol]\n");
        for (var i = 1; i < 10; i++)
        {
            text.Append($"x{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        }

        var path = ws.Write("pipelines/app.yaml", text.ToString());

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the expansion is refused before anything reads it
        Assert.Equal(path, error.File);
        Assert.Contains($"expands to more than {DefinitionLimits.MaxExpandedValues} values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_PipelineNameOverNameLimit_Refused()
    {
        // Given a pipeline file and name of 65 characters
        using var ws = new TestWorkspace();
        var name = new string('a', DefinitionLimits.MaxNameChars + 1);
        ws.Write($"pipelines/{name}.yaml", TestWorkspace.Pipeline.Replace("name: app", $"name: {name}", StringComparison.Ordinal));

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the name is refused with the limit
        error.AssertSays($"longer than {DefinitionLimits.MaxNameChars} characters", "shorter");
    }

    [Theory]
    [InlineData("http://registry.example:5000", false, true)]
    [InlineData("http://10.0.0.7:5000", false, true)]
    [InlineData("http://registry.example:5000", true, false)]
    [InlineData("http://127.0.0.1:5001", false, false)]
    [InlineData("http://127.8.9.10:5001", false, false)]
    [InlineData("http://localhost:5001", false, false)]
    [InlineData("http://[::1]:5001", false, false)]
    [InlineData("https://registry.example", false, false)]
    public async Task LoadAsync_CredentialsOverPlainHttp_RefusedOnlyOffLoopbackWithoutInsecure(string url, bool insecure, bool refused)
    {
        // Given a registry with credentials at url, saying insecure: true (with allow-insecure-remote: true, which a remote host needs) or not
        using var ws = new TestWorkspace();
        var text = $"stages: [staging]\nregistries:\n  staging:\n    url: {url}\n    username-env: REG_USER\n    password-env: REG_PASSWORD\n" + (insecure ? "    insecure: true\n    allow-insecure-remote: true\n" : string.Empty);
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded
        if (!refused)
        {
            // Then loopback, https and an explicit 'insecure: true' load
            var workspace = await ws.LoadAsync();
            Assert.Equal("REG_PASSWORD", workspace.Config.Stages[0].Registry.PasswordEnv);
            return;
        }

        var error = await ws.SingleErrorAsync();

        // Then plain http off loopback is refused at the url, saying both fixes
        error.AssertAt(path, text, url);
        error.AssertSays("over plain http://", "use https://");
        Assert.Contains("insecure: true", error.Fix!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("username-env", "S3cr3tPW7788")]
    [InlineData("password-env", "S3cr3tPW7788")]
    [InlineData("password-env", "ghp_AbCdEf0123456789xyzXYZ0123")]
    [InlineData("password-env", "\"hunter2 pass\"")]
    [InlineData("password-env", "AKIAIOSFODNN7EXAMPLE")]
    public async Task LoadAsync_SecretPastedIntoEnvKey_RefusedWithoutEchoingIt(string key, string value)
    {
        // Given a registry whose *-env key holds what may be the secret itself
        using var ws = new TestWorkspace();
        var other = key == "username-env" ? "password-env: REG_PASSWORD" : "username-env: REG_USER";
        var text = $"stages: [staging]\nregistries:\n  staging: {{ url: http://127.0.0.1:5001, {key}: {value}, {other} }}\n";
        var path = ws.Write("orchestrator.yaml", text);

        // When loaded
        var exception = await Assert.ThrowsAsync<DefinitionException>(ws.LoadAsync);

        // Then it is refused at the value, naming the key as spelled, and the value appears nowhere
        var error = Assert.Single(exception.Errors);
        error.AssertAt(path, text, value);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value.Trim('"'), exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("_env", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("REGISTRY_PASSWORD")]
    [InlineData("PROD_TOKEN")]
    [InlineData("_X")]
    [InlineData("CI_REGISTRY_PASSWORD_2")]
    public async Task LoadAsync_UpperCaseVariableNameInEnvKey_Accepted(string name)
    {
        // Given a registry whose password-env is an ordinary variable name
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", $"stages: [staging]\nregistries:\n  staging: {{ url: https://registry.example, username-env: REG_USER, password-env: {name} }}\n");

        // When loaded
        var workspace = await ws.LoadAsync();

        // Then the name is kept
        Assert.Equal(name, workspace.Config.Stages[0].Registry.PasswordEnv);
    }

    [Fact]
    public async Task LoadAsync_OtherPipelineBrokenOutsideScope_WarnsAndLoadsTheNeededOne()
    {
        // Given a good pipeline 'app' and a broken 'other' (unknown key, unknown base)
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);
        var broken = ws.Write("pipelines/other.yaml", "name: other\nversion: 1.0.0\nbase: nope\nrepository: apps/other\nbogus: 1\n");

        // When loaded for 'app' only
        var workspace = await new WorkspaceLoader { Scope = WorkspaceScope.Pipeline("app") }.LoadAsync(ws.ConfigPath);

        // Then 'app' loads, 'other' is left out, and its problems are warnings at their positions
        Assert.Equal(["app"], workspace.Pipelines.Keys);
        Assert.Equal(2, workspace.Warnings.Count);
        Assert.All(workspace.Warnings, w => Assert.Equal(broken, w.File));
        Assert.Contains(workspace.Warnings, w => w.Message.Contains("unknown key 'bogus'", StringComparison.Ordinal) && w.Line == 5);
    }

    [Fact]
    public async Task LoadAsync_OtherPipelineOutsideScope_LeftOutWithItsLockUnreadButNamedAmongTheKnownOnes()
    {
        // Given a good pipeline 'app' and a good 'other' whose lock file is not even YAML
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);
        ws.Write("pipelines/other.yaml", TestWorkspace.Pipeline.Replace("name: app", "name: other", StringComparison.Ordinal));
        ws.Write("pipelines/other.lock.yaml", "packages: [unclosed\n");

        // When loaded for 'app' only, and for everything
        var scoped = await new WorkspaceLoader { Scope = WorkspaceScope.Pipeline("app") }.LoadAsync(ws.ConfigPath);
        var everything = await Assert.ThrowsAsync<DefinitionException>(() => new WorkspaceLoader().LoadAsync(ws.ConfigPath));

        // Then the scoped load has 'app' only, no warning about the lock it never read, and 'other' is still a known name;
        // loading everything reads that lock and refuses it
        Assert.Equal(["app"], scoped.Pipelines.Keys);
        Assert.Equal(["other"], scoped.UnloadedPipelines);
        Assert.Empty(scoped.Warnings);
        var unknown = Assert.Throws<InputException>(() => scoped.GetPipeline("nope"));
        Assert.Contains("known pipelines: app, other", unknown.Message, StringComparison.Ordinal);
        Assert.Contains(everything.Errors, e => e.File.EndsWith("other.lock.yaml", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LoadAsync_NeededPipelineBroken_ErrorsOnlyForItWhileOthersWarn()
    {
        // Given a broken 'app' and a broken 'other'
        using var ws = new TestWorkspace();
        var app = ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\nbogus: 1\n");
        ws.Write("pipelines/other.yaml", "name: other\nbogus: 1\n");

        // When loaded for 'app'
        var exception = await Assert.ThrowsAsync<DefinitionException>(() => new WorkspaceLoader { Scope = WorkspaceScope.Pipeline("app") }.LoadAsync(ws.ConfigPath));

        // Then only app's problem is an error
        var error = Assert.Single(exception.Errors);
        Assert.Equal(app, error.File);
    }

    [Fact]
    public async Task LoadAsync_BrokenBaseUsedByNeededPipeline_IsAnError()
    {
        // Given a broken base that the needed pipeline uses, and a broken base nobody uses
        using var ws = new TestWorkspace();
        var used = ws.Write("base-images/debian-bookworm.yaml", TestWorkspace.Base + "\nbogus: 1\n");
        var unused = ws.Write("base-images/other.yaml", "bogus: 1\n");
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);

        // When loaded for 'app'
        var exception = await Assert.ThrowsAsync<DefinitionException>(() => new WorkspaceLoader { Scope = WorkspaceScope.Pipeline("app") }.LoadAsync(ws.ConfigPath));

        // Then the used base's problem is an error and the unused base's is not
        Assert.Contains(exception.Errors, e => e.File == used);
        Assert.DoesNotContain(exception.Errors, e => e.File == unused);
    }

    [Fact]
    public async Task LoadAsync_EverythingScope_ReportsOtherPipelinesProblemsAsErrors()
    {
        // Given a good 'app' and a broken 'other'
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline);
        var broken = ws.Write("pipelines/other.yaml", "name: other\nbogus: 1\n");

        // When loaded as 'check' does
        var errors = await ws.ErrorsAsync();

        // Then other's problems are errors
        Assert.All(errors, e => Assert.Equal(broken, e.File));
    }
}
