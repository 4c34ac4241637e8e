using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Definitions.Tests;

/// <summary>orchestrator.yaml: stages, registries, engine, paths.</summary>
public sealed class ConfigTests
{
    [Fact]
    public async Task LoadAsync_MissingConfig_NoSuchFileWithPathAndNoPosition()
    {
        // Given a folder with no orchestrator.yaml
        using var ws = new TestWorkspace(withDefaults: false);

        // When loaded
        var exception = await Assert.ThrowsAsync<InputException>(ws.LoadAsync);

        // Then it is "no such file" naming the path tried, not a position in a file that does not exist, with the ways to fix it
        Assert.IsNotType<DefinitionException>(exception);
        Assert.StartsWith($"no such file: {ws.ConfigPath} ", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":1:1", exception.Message, StringComparison.Ordinal);
        Assert.Contains("--config FILE", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_MinimalConfig_AppliesDefaults()
    {
        // Given a config with only stages and registries, one https with credentials by env var name
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", """
            stages: [staging, production]
            registries:
              staging: { url: http://127.0.0.1:5001 }
              production: { url: "https://registry.example:8443/", username-env: PROD_USER, password-env: PROD_TOKEN }
            """);

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then defaults are absolute under the config's folder and endpoints are parsed
        Assert.Equal(EngineSettings.DefaultEndpoint, config.Engine.Endpoint);
        Assert.Equal(Path.Combine(ws.Root, ".orchestrator", "state.db"), config.StatePath);
        Assert.Equal(Path.Combine(ws.Root, "base-images"), config.BaseImagesDirectory);
        Assert.Equal(Path.Combine(ws.Root, ".orchestrator", "work"), config.WorkDirectory);
        Assert.Equal(ws.Root, config.RootDirectory);
        Assert.Equal(new RegistryEndpoint("registry.example:8443", false, "PROD_USER", "PROD_TOKEN"), config.Stages[1].Registry);
        Assert.Equal("production", config.NextStage(config.FirstStage)!.Name);
    }

    [Fact]
    public async Task LoadAsync_StageWithoutRegistryAndRegistryWithoutStage_BothReported()
    {
        // Given a stage 'production' with no registry and a registry 'prod' that is no stage
        using var ws = new TestWorkspace();
        var text = """
            stages: [staging, production]
            registries:
              staging: { url: http://127.0.0.1:5001 }
              prod: { url: http://127.0.0.1:5002 }
            """;
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then each is reported where it is written
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(ws.ConfigPath, text, "production");
        errors[0].AssertSays("stage 'production' has no registry", "production: { url:");
        errors[1].AssertAt(ws.ConfigPath, text, "prod:");
        errors[1].AssertSays("registry 'prod' is not one of the stages", "did you mean 'production'?");
    }

    [Theory]
    [InlineData("stages: []", "is empty", "stages: [staging, production]")]
    [InlineData("stages: [staging, Production]", "stage name 'Production' is invalid", "rename it")]
    [InlineData("stages: [staging, staging]", "listed twice", "remove the second")]
    public async Task LoadAsync_BadStages_Refused(string stages, string inMessage, string inFix)
    {
        // Given a config with bad stages
        using var ws = new TestWorkspace();
        var text = stages + "\nregistries:\n  staging: { url: http://127.0.0.1:5001 }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then the stages line is named with the fix
        var error = Assert.Single(errors, e => e.Message.Contains(inMessage, StringComparison.Ordinal));
        Assert.Equal((ws.ConfigPath, 1), (error.File, error.Line));
        error.AssertSays(inMessage, inFix);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:5001", "is not an http:// or https:// URL")]
    [InlineData("http://127.0.0.1:5001/v2", "has a path '/v2'")]
    [InlineData("127.0.0.1:5001", "is not an http:// or https:// URL")]
    public async Task LoadAsync_BadRegistryUrl_Refused(string url, string inMessage)
    {
        // Given a registry url that is not http(s)://host[:port]
        using var ws = new TestWorkspace();
        var text = $"stages: [staging]\nregistries:\n  staging: {{ url: \"{url}\" }}\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the url value is named, with the expected form
        error.AssertAt(ws.ConfigPath, text, "\"" + url);
        error.AssertSays(inMessage, "http://HOST[:PORT]");
    }

    [Fact]
    public async Task LoadAsync_RegistryUrlWithCredentials_RefusedWithoutEchoingThem()
    {
        // Given a registry url with a user and password in it
        using var ws = new TestWorkspace();
        var text = "stages: [staging]\nregistries:\n  staging: { url: \"https://robot:s3cr3t-value@registry.example:5000\" }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused, the host named, the secret nowhere in the error
        error.AssertSays("carries credentials", "http://HOST[:PORT]");
        Assert.Contains("registry.example:5000", error.Message);
        Assert.DoesNotContain("s3cr3t-value", error.ToString());
        Assert.DoesNotContain("robot", error.ToString());
    }

    [Fact]
    public async Task LoadAsync_BadEngineEndpoint_Refused()
    {
        // Given an http engine endpoint
        using var ws = new TestWorkspace();
        var text = "engine: { endpoint: http://localhost:2375 }\n" + TestWorkspace.Config;
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then it is refused with both accepted forms
        error.AssertAt(ws.ConfigPath, text, "http://localhost:2375");
        error.AssertSays("neither unix:///PATH nor tcp://HOST:PORT", "unix:///var/run/docker.sock");
    }

    [Fact]
    public async Task LoadAsync_SecretInsteadOfEnvName_RefusedWithoutEchoingIt()
    {
        // Given a password pasted where an environment variable name belongs
        using var ws = new TestWorkspace();
        var text = "stages: [staging]\nregistries:\n  staging: { url: http://127.0.0.1:5001, username-env: USER_NAME, password-env: \"s3cr3t!pass\" }\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var exception = await Assert.ThrowsAsync<DefinitionException>(ws.LoadAsync);

        // Then it is refused, and the value appears nowhere in the errors
        var error = Assert.Single(exception.Errors, e => e.Message.Contains("password-env", StringComparison.Ordinal));
        error.AssertAt(ws.ConfigPath, text, "\"s3cr3t");
        Assert.DoesNotContain("s3cr3t", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_ConfiguredFolderMissing_Refused()
    {
        // Given paths.pipelines naming a folder that does not exist
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Config + "\npaths:\n  pipelines: pipleines\n";
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the value is named
        error.AssertAt(ws.ConfigPath, text, "pipleines");
        error.AssertSays("does not exist", "paths.pipelines");
    }
}
