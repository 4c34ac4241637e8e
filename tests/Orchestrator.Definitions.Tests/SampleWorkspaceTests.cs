namespace Orchestrator.Definitions.Tests;

/// <summary>The repository's own orchestrator.yaml, base-images/ and pipelines/ are real input.</summary>
public sealed class SampleWorkspaceTests
{
    private static string RepoRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Orchestrator.sln")))
        {
            folder = folder.Parent;
        }

        Assert.NotNull(folder);
        return folder.FullName;
    }

    [Fact]
    public async Task LoadAsync_RepositorySamples_LoadWithExpectedRecords()
    {
        // Given the repository's sample workspace
        var root = RepoRoot();

        // When it is loaded
        var workspace = await new WorkspaceLoader().LoadAsync(Path.Combine(root, "orchestrator.yaml"));

        // Then the config points at the two local registries in promotion order
        Assert.Equal(["staging", "production"], workspace.Config.Stages.Select(s => s.Name));
        Assert.Equal(new Core.Definitions.RegistryEndpoint("127.0.0.1:5001", true), workspace.Config.FirstStage.Registry);
        Assert.Equal(new Core.Definitions.RegistryEndpoint("127.0.0.1:5002", true), workspace.Config.Stages[1].Registry);
        Assert.Equal("unix:///var/run/docker.sock", workspace.Config.Engine.Endpoint);
        Assert.Equal(Path.Combine(root, ".orchestrator", "state.db"), workspace.Config.StatePath);
        Assert.Equal(Path.Combine(root, "pipelines"), workspace.Config.PipelinesDirectory);
        Assert.Equal(Path.Combine(root, ".orchestrator", "work"), workspace.Config.WorkDirectory);

        // And the daemon keeps its defaults but declares the ci and release tokens, secrets by variable name only
        var daemon = workspace.Config.Daemon;
        Assert.Equal(("http://127.0.0.1:5080", 2, TimeSpan.FromSeconds(30)), (daemon.Urls, daemon.Concurrency, daemon.WatchInterval));
        Assert.Empty(daemon.AutoPromoteStages);
        Assert.Equal(["ci", "release"], daemon.Tokens.Select(t => t.Name));
        Assert.Equal(["ORCHESTRATOR_TOKEN_CI", "ORCHESTRATOR_TOKEN_RELEASE"], daemon.Tokens.Select(t => t.SecretEnv));
        Assert.Equal(["read", "build", "validate", "promote:staging"], daemon.Tokens[0].Roles);
        Assert.Equal(["read", "promote:production"], daemon.Tokens[1].Roles);

        // And the base has a full variant (debootstrap default) and a slim one (minbase, slimmed)
        var bookworm = workspace.Bases["debian-bookworm"];
        Assert.Equal("base/debian-bookworm", bookworm.Repository);
        Assert.Equal("full", bookworm.DefaultVariant);
        Assert.Equal(["distroless", "full", "slim"], bookworm.Variants.Keys.Order());
        var full = bookworm.Variants["full"];
        Assert.Equal(("bookworm", null, false, null), (full.Suite, full.DebootstrapVariant, full.Slim, full.From));
        Assert.Equal(["main"], full.Components);
        var slim = bookworm.Variants["slim"];
        Assert.Equal(("bookworm", "minbase", true), (slim.Suite, slim.DebootstrapVariant, slim.Slim));

        // And a distroless one, whose pipelines resolve and unpack on slim
        var distroless = bookworm.Variants["distroless"];
        Assert.Equal(("bookworm", true, false), (distroless.Suite, distroless.Distroless, full.Distroless || slim.Distroless));
        Assert.Equal("debian-bookworm/slim", Core.Definitions.DistrolessBase.SlimSiblingOf(bookworm, distroless).ToString());

        // And hello-python-distroless is on it, every command test in exec form (no sh on the image)
        var onDistroless = workspace.GetPipeline("hello-python-distroless");
        Assert.Equal("debian-bookworm/distroless", onDistroless.Base.ToString());
        Assert.All(onDistroless.Validate.Commands, c => Assert.NotEqual("sh", c.Run[0]));
        Assert.Contains(onDistroless.Validate.Files, f => f.Path == "/bin/sh" && !f.Exists);

        // And hello-python is a Python service on slim: python3 pinned, its project and hashed requirements built on full
        var hello = workspace.GetPipeline("hello-python");
        Assert.Equal("debian-bookworm/slim", hello.Base.ToString());
        Assert.Equal(["2.0.0", "latest"], hello.Tags);
        Assert.Equal("python3=3.11.2-1+b1", Assert.Single(hello.AptPackages).ToString());
        Assert.Empty(hello.Files);
        var python = hello.Python!;
        Assert.Equal("debian-bookworm/full", python.BuildBase.ToString());
        Assert.Equal(Path.Combine(root, "pipelines", "hello-python", "app"), python.Project);
        Assert.True(File.Exists(Path.Combine(python.Project!, "pyproject.toml")));
        Assert.Equal(Path.Combine(root, "pipelines", "hello-python", "wheels"), python.FindLinks);
        var greet = Assert.Single(python.Requirements);
        Assert.Equal(("greet", "1.0.0"), (greet.Name, greet.Version));
        Assert.Equal(["hello-devtools"], python.DevRequirements.Select(d => d.Name));
        Assert.Contains(python.BuildPackages, p => p.Name == "python3-pip");
        Assert.Equal("10001", hello.User);
        Assert.Equal(["python3", "-m", "hello_service"], hello.Entrypoint!);
        Assert.Equal(Core.Definitions.AutoMode.None, hello.Auto);
        Assert.Contains(hello.Validate.Commands, c => c.Name == "healthz answers over loopback" && c.Run[0] == "sh");
        Assert.Contains(hello.Validate.Files, f => f.Path == "/usr/share/doc/python3/changelog.Debian.gz" && !f.Exists);
        Assert.Equal("10001", hello.Validate.Metadata!.User);
        Assert.Equal(140, hello.Validate.MaxSizeMb);

        // And hello-native compiles its C extension on full with the headers and gcc pinned
        var native = workspace.GetPipeline("hello-native");
        Assert.Equal(("debian-bookworm/slim", "debian-bookworm/full"), (native.Base.ToString(), native.Python!.BuildBase.ToString()));
        Assert.Contains(native.Python.BuildPackages, p => p.Name == "gcc");
        Assert.Contains(native.Python.BuildPackages, p => p.Name == "python3-dev");
        Assert.Empty(native.Python.Requirements);

        // And toolbox builds on full, with curl and jq pinned
        var toolbox = workspace.GetPipeline("toolbox");
        Assert.Equal("debian-bookworm/full", toolbox.Base.ToString());
        Assert.Equal(["curl", "jq"], toolbox.AptPackages.Select(p => p.Name));
        Assert.All(toolbox.AptPackages, p => Assert.Matches(@"^[0-9][A-Za-z0-9.+~-]*-[A-Za-z0-9.+~]+$", p.Version));
        Assert.True(toolbox.Validate.Commands.Count >= 3);
    }

    [Fact]
    public async Task LoadAsync_SampleRegexes_MatchWhatTheAppsPrint()
    {
        // Given the sample pipelines' expected outputs
        var workspace = await new WorkspaceLoader().LoadAsync(Path.Combine(RepoRoot(), "orchestrator.yaml"));
        var hello = workspace.GetPipeline("hello-python").Validate.Commands.Single(c => c.Name == "app greets with its version");
        var transform = workspace.GetPipeline("toolbox").Validate.Commands.Single(c => c.Name == "jq transforms JSON");

        // When they are matched against what the programs print (multi-line, as the validator matches)
        var options = System.Text.RegularExpressions.RegexOptions.Multiline;

        // Then YAML escaping left working patterns
        Assert.Matches(new System.Text.RegularExpressions.Regex(hello.ExpectStdout!, options), "Hello, validation! hello-service 2.0.0 on Python 3.11.2\n");
        var healthz = workspace.GetPipeline("hello-python").Validate.Commands.Single(c => c.Name == "healthz answers over loopback");
        Assert.Matches(new System.Text.RegularExpressions.Regex(healthz.ExpectStdout!, options), "{\"python\": \"3.11.2\", \"service\": \"hello-service\", \"status\": \"ok\", \"version\": \"2.0.0\"}\n");
        Assert.Matches(new System.Text.RegularExpressions.Regex(transform.ExpectStdout!, options), "{\"doubled\":[2,4,6],\"count\":3}\n");
    }
}
