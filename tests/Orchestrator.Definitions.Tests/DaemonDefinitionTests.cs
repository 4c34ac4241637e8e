using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Definitions.Tests;

/// <summary>The <c>daemon:</c> section of orchestrator.yaml and the pipelines' <c>auto:</c> key.</summary>
public sealed class DaemonDefinitionTests
{
    /// <summary>The test config (stages staging, production) followed by <paramref name="daemon"/>.</summary>
    private static string ConfigWith(string daemon) => TestWorkspace.Config + "\n" + daemon.ReplaceLineEndings("\n") + "\n";

    private static async Task<(string Text, DefinitionError Error)> SingleConfigErrorAsync(TestWorkspace ws, string daemon)
    {
        var text = ConfigWith(daemon);
        ws.Write("orchestrator.yaml", text);
        return (text, await ws.SingleErrorAsync());
    }

    private static void AssertDefaults(DaemonSettings daemon)
    {
        Assert.Equal("http://127.0.0.1:5080", daemon.Urls);
        Assert.Equal(2, daemon.Concurrency);
        Assert.Equal(TimeSpan.FromSeconds(30), daemon.WatchInterval);
        Assert.Empty(daemon.Tokens);
        Assert.Empty(daemon.AutoPromoteStages);
    }

    [Fact]
    public async Task LoadAsync_NoDaemonSection_Defaults()
    {
        // Given a config without 'daemon:'
        using var ws = new TestWorkspace();

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then the daemon listens on loopback 5080, runs 2 jobs, watches every 30 s, has no tokens and promotes nothing by itself
        AssertDefaults(config.Daemon);
    }

    [Theory]
    [InlineData("daemon:")]
    [InlineData("daemon: {}")]
    public async Task LoadAsync_EmptyDaemonSection_Defaults(string daemon)
    {
        // Given an empty daemon section
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", ConfigWith(daemon));

        // When loaded
        var config = (await ws.LoadAsync()).Config;

        // Then every default applies
        AssertDefaults(config.Daemon);
    }

    [Fact]
    public async Task LoadAsync_FullDaemonSection_EveryValueInTheRecordTrimmedAndInDefinitionOrder()
    {
        // Given a daemon section using every key, roles quoted and not
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", ConfigWith("""
            daemon:
              urls: "http://127.0.0.1:5080; http://[::1]:5081"
              concurrency: 4
              watch-interval-seconds: 10
              auto-promote: [production]
              tokens:
                - { name: ci, secret-env: ORCHESTRATOR_TOKEN_CI, roles: [read, build, validate, "promote:staging"] }
                - name: release.bot
                  secret-env: ORCHESTRATOR_TOKEN_RELEASE
                  roles:
                    - read
                    - promote:production
            """));

        // When loaded
        var daemon = (await ws.LoadAsync()).Config.Daemon;

        // Then every value is in the records, trimmed and in definition order
        Assert.Equal("http://127.0.0.1:5080;http://[::1]:5081", daemon.Urls);
        Assert.Equal(4, daemon.Concurrency);
        Assert.Equal(TimeSpan.FromSeconds(10), daemon.WatchInterval);
        Assert.Equal(["production"], daemon.AutoPromoteStages);
        Assert.Equal(2, daemon.Tokens.Count);
        Assert.Equal(("ci", "ORCHESTRATOR_TOKEN_CI"), (daemon.Tokens[0].Name, daemon.Tokens[0].SecretEnv));
        Assert.Equal(["read", "build", "validate", "promote:staging"], daemon.Tokens[0].Roles);
        Assert.Equal(("release.bot", "ORCHESTRATOR_TOKEN_RELEASE"), (daemon.Tokens[1].Name, daemon.Tokens[1].SecretEnv));
        Assert.Equal(["read", "promote:production"], daemon.Tokens[1].Roles);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:5080", "is not an http:// URL", "write it as http://HOST:PORT")]
    [InlineData("http://127.0.0.1", "has no port", "write it as http://HOST:PORT")]
    [InlineData("https://127.0.0.1:5080", "uses https", "write it as http://HOST:PORT")]
    [InlineData("http://127.0.0.1:5080/api", "has a path", "write it as http://HOST:PORT")]
    [InlineData("http://127.0.0.1:99999", "not a number from 1 to 65535", "write it as http://HOST:PORT")]
    [InlineData("http://bad host:5080", "is not a host name or IP address", "write it as http://HOST:PORT")]
    [InlineData("http://user:pw@127.0.0.1:5080", "carries credentials", "write it as http://HOST:PORT")]
    [InlineData("http://127.0.0.1:5080;", "has an empty entry", "separate URLs with a single ';'")]
    [InlineData("http://127.0.0.1:5080;http://127.0.0.1:5080/", "is listed twice", "remove one of them")]
    public async Task LoadAsync_BadUrls_RefusedAtValueWithFix(string urls, string inMessage, string inFix)
    {
        // Given a daemon url that Kestrel could not bind as meant
        using var ws = new TestWorkspace();

        // When loaded
        var (text, error) = await SingleConfigErrorAsync(ws, $"daemon:\n  urls: \"{urls}\"");

        // Then the value is named, with the fix
        error.AssertAt(ws.ConfigPath, text, "\"" + urls);
        error.AssertSays(inMessage, inFix);
        Assert.DoesNotContain("pw@", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://*:5080")]
    [InlineData("http://+:80")]
    [InlineData("http://localhost:5080/")]
    [InlineData("http://[::1]:5080")]
    [InlineData("HTTP://0.0.0.0:1")]
    public void ListenUrlProblem_KestrelForms_Accepted(string url)
    {
        // Given a URL in a form Kestrel binds (wildcards, IPv6 literal, trailing slash)
        // When checked
        var problem = DaemonReader.ListenUrlProblem(url);

        // Then nothing is wrong with it
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("concurrency: 0", "0", "'concurrency' in 'daemon' is 0; it must be at least 1", "concurrency: 2")]
    [InlineData("concurrency: -3", "-3", "it must be at least 1", "concurrency: 2")]
    [InlineData("concurrency: two", "two", "must be a whole number", "concurrency: 2")]
    [InlineData("watch-interval-seconds: 0", "0", "'watch-interval-seconds' in 'daemon' is 0", "watch-interval-seconds: 30")]
    [InlineData("watch-interval-seconds: 1.5", "1.5", "must be a whole number", "watch-interval-seconds: 30")]
    public async Task LoadAsync_BadNumbers_RefusedAtValueWithFix(string line, string value, string inMessage, string inFix)
    {
        // Given a daemon number below 1 or not whole
        using var ws = new TestWorkspace();

        // When loaded
        var (text, error) = await SingleConfigErrorAsync(ws, "daemon:\n  " + line);

        // Then the value is named with an example
        error.AssertAt(ws.ConfigPath, text, line, skip: line.IndexOf(value, StringComparison.Ordinal));
        error.AssertSays(inMessage, inFix);
    }

    [Theory]
    [InlineData("[staging]", "staging", "the first stage", "name a later stage (production)")]
    [InlineData("[prod]", "prod", "'prod', which is not one of the stages (staging, production)", "did you mean 'production'?")]
    [InlineData("[qa]", "qa", "'qa', which is not one of the stages", "name a later stage (production)")]
    [InlineData("[production, production]", "production]", "lists 'production' twice", "remove the second one")]
    public async Task LoadAsync_BadAutoPromote_RefusedAtStageWithFix(string list, string needle, string inMessage, string inFix)
    {
        // Given auto-promote naming the first stage, an undeclared stage, or one twice
        using var ws = new TestWorkspace();

        // When loaded
        var (text, error) = await SingleConfigErrorAsync(ws, $"daemon:\n  auto-promote: {list}");

        // Then the offending item is named
        error.AssertAt(ws.ConfigPath, text, needle, occurrence: needle == "production]" ? 2 : 1 + CountIn(TestWorkspace.Config, needle));
        error.AssertSays(inMessage, inFix);
    }

    [Fact]
    public async Task LoadAsync_LeaseSeconds_SetsTheLeaseAndDefaultsTo30()
    {
        // Given a config with 'lease-seconds: 6' and one without
        using var ws = new TestWorkspace();
        ws.Write("orchestrator.yaml", ConfigWith("daemon:\n  lease-seconds: 6"));
        var set = (await ws.LoadAsync()).Config.Daemon;
        ws.Write("orchestrator.yaml", ConfigWith("daemon:\n  concurrency: 3"));
        var unset = (await ws.LoadAsync()).Config.Daemon;

        // Then the lease is 6 s, and 30 s by default
        Assert.Equal(TimeSpan.FromSeconds(6), set.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), unset.LeaseDuration);
    }

    [Fact]
    public async Task LoadAsync_LeaseSecondsZero_ErrorAtTheValueWithAnExample()
    {
        // Given 'lease-seconds: 0'
        using var ws = new TestWorkspace();

        // When loaded
        var (text, error) = await SingleConfigErrorAsync(ws, "daemon:\n  lease-seconds: 0");

        // Then the value is named, with what it means and an example
        error.AssertAt(ws.ConfigPath, text, "lease-seconds: 0", skip: "lease-seconds: ".Length);
        error.AssertSays("'lease-seconds' in 'daemon' is 0", "lease-seconds: 30");
    }

    private static int CountIn(string text, string needle)
    {
        var count = 0;
        for (var i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Theory]
    [InlineData("{ name: CI, secret-env: T_CI, roles: [read] }", "CI,", "token name 'CI' is invalid", "rename it")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [read, admin] }", "admin", "unknown role 'admin'", "known roles: read, build, validate, promote:staging, promote:production")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [read, biuld] }", "biuld", "unknown role 'biuld'", "did you mean 'build'?")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [\"promote:prod\"] }", "\"promote:prod", "names stage 'prod', which is not one of the stages", "did you mean 'promote:production'?")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [\"promote:\"] }", "\"promote:\"", "names stage ''", "promote:staging, promote:production")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [read, read] }", "read]", "role 'read' is listed twice", "remove the second one")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [] }", "[]", "'roles' in daemon.tokens[0] is empty", "read, build, validate")]
    [InlineData("{ name: ci, secret-env: T_CI }", "{ name", "has no 'roles', which is required", "roles: [read, build, validate]")]
    [InlineData("{ name: ci, roles: [read] }", "{ name", "has no 'secret-env', which is required", "secret-env: ORCHESTRATOR_TOKEN_CI")]
    [InlineData("{ secret-env: T_CI, roles: [read] }", "{ secret", "has no 'name', which is required", "name: ci")]
    [InlineData("{ name: ci, secret-env: orchestrator_token_ci, roles: [read] }", "orchestrator_token_ci", "must name an environment variable: upper-case letters", "secret-env: ORCHESTRATOR_TOKEN_CI")]
    [InlineData("{ name: ci, secret-env: T_CI, roles: [read], rolse: [build] }", "rolse", "unknown key 'rolse' in daemon.tokens[0]", "did you mean 'roles'?")]
    [InlineData("ci", "ci", "daemon.tokens[0] must be a mapping", "name, secret-env, roles")]
    public async Task LoadAsync_BadToken_RefusedAtPositionWithFix(string token, string needle, string inMessage, string inFix)
    {
        // Given a token with one thing wrong
        using var ws = new TestWorkspace();

        // When loaded
        var text = ConfigWith($"daemon:\n  tokens:\n    - {token}");
        ws.Write("orchestrator.yaml", text);
        var errors = await ws.ErrorsAsync();

        // Then that one thing is reported where it is written, with its fix
        var error = Assert.Single(errors);
        error.AssertAt(ws.ConfigPath, text, needle);
        error.AssertSays(inMessage, inFix);
    }

    [Fact]
    public async Task LoadAsync_DuplicateTokenNameAndSecretEnv_BothRefused()
    {
        // Given two tokens sharing a name, and two sharing a secret variable
        using var ws = new TestWorkspace();
        var text = ConfigWith("""
            daemon:
              tokens:
                - { name: ci, secret-env: TOKEN_A, roles: [read] }
                - { name: ci, secret-env: TOKEN_B, roles: [read] }
                - { name: other, secret-env: TOKEN_A, roles: [read] }
            """);
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then both are reported at the second use, naming the first
        Assert.Equal(2, errors.Count);
        errors[0].AssertAt(ws.ConfigPath, text, "ci", occurrence: 2);
        errors[0].AssertSays("token name 'ci' is used twice (first at line 7)", "give each token its own name");
        errors[1].AssertAt(ws.ConfigPath, text, "TOKEN_A", occurrence: 2);
        errors[1].AssertSays("secret-env 'TOKEN_A' is already used by token 'ci' (line 7)", "its own environment variable");
    }

    [Theory]
    [InlineData("ghp_4fJk2LmQ9xZr7TbW1nVc8pYs")]
    [InlineData("dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    public async Task LoadAsync_SecretPastedAsSecretEnv_RefusedWithoutEchoingIt(string secret)
    {
        // Given a token whose secret-env holds what looks like the secret itself
        using var ws = new TestWorkspace();
        var text = ConfigWith($"daemon:\n  tokens:\n    - {{ name: ci, secret-env: \"{secret}\", roles: [read] }}");
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var exception = await Assert.ThrowsAsync<DefinitionException>(ws.LoadAsync);

        // Then it is refused at the value with the fix, and the value appears nowhere in what is reported
        var error = Assert.Single(exception.Errors);
        error.AssertAt(ws.ConfigPath, text, "\"" + secret);
        error.AssertSays("looks like a secret itself", "put the secret in an environment variable and name it with secret-env");
        Assert.DoesNotContain(secret, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("token")]
    public async Task LoadAsync_SecretKeyInToken_RefusedAsUnknownKeyWithoutEchoingIt(string key)
    {
        // Given a token carrying its secret in the file
        using var ws = new TestWorkspace();
        const string secret = "hunter2-Very-Secret";
        var text = ConfigWith($"daemon:\n  tokens:\n    - {{ name: ci, {key}: {secret}, roles: [read] }}");
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var exception = await Assert.ThrowsAsync<DefinitionException>(ws.LoadAsync);

        // Then the key is refused with the environment-variable fix (no 'did you mean'), and the secret is not echoed;
        // the missing secret-env is reported too, at the token
        Assert.Equal(2, exception.Errors.Count);
        var unknown = Assert.Single(exception.Errors, e => e.Message.Contains("unknown key", StringComparison.Ordinal));
        unknown.AssertAt(ws.ConfigPath, text, key + ":");
        unknown.AssertSays($"unknown key '{key}' in daemon.tokens[0]", "put the secret in an environment variable and name it with secret-env");
        Assert.DoesNotContain("did you mean", unknown.Fix, StringComparison.Ordinal);
        Assert.Contains(exception.Errors, e => e.Message.Contains("has no 'secret-env'", StringComparison.Ordinal));
        Assert.DoesNotContain(secret, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_UnknownDaemonKey_RefusedWithSuggestion()
    {
        // Given a misspelt daemon key
        using var ws = new TestWorkspace();

        // When loaded
        var (text, error) = await SingleConfigErrorAsync(ws, "daemon:\n  concurency: 3");

        // Then it is named with the closest known key
        error.AssertAt(ws.ConfigPath, text, "concurency");
        error.AssertSays("unknown key 'concurency' in 'daemon'", "did you mean 'concurrency'?");
    }

    [Fact]
    public async Task LoadAsync_ManyDaemonProblems_AllReportedAtOnceInOrder()
    {
        // Given a daemon section with four independent problems
        using var ws = new TestWorkspace();
        var text = ConfigWith("""
            daemon:
              urls: http://127.0.0.1
              concurrency: 0
              auto-promote: [staging]
              tokens:
                - { name: ci, secret-env: T_CI, roles: [admin] }
            """);
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then every one is reported, sorted by line
        Assert.Equal(4, errors.Count);
        Assert.Equal(["has no port", "at least 1", "the first stage", "unknown role"],
            errors.Select(e => new[] { "has no port", "at least 1", "the first stage", "unknown role" }.Single(m => e.Message.Contains(m, StringComparison.Ordinal))));
        Assert.Equal(errors.Select(e => e.Line).Order(), errors.Select(e => e.Line));
    }

    [Fact]
    public async Task LoadAsync_InvalidStageName_NotReportedAgainInRolesOrAutoPromote()
    {
        // Given a misspelt stage that roles and auto-promote also name
        using var ws = new TestWorkspace();
        var text = """
            stages: [staging, Production]
            registries:
              staging: { url: http://127.0.0.1:5001 }
            daemon:
              auto-promote: [Production]
              tokens:
                - { name: release, secret-env: T_RELEASE, roles: [read, "promote:Production"] }
            """;
        ws.Write("orchestrator.yaml", text);

        // When loaded
        var errors = await ws.ErrorsAsync();

        // Then the stage itself is the one error
        var error = Assert.Single(errors);
        error.AssertSays("stage name 'Production' is invalid", "rename it");
    }

    [Theory]
    [InlineData("auto: build", AutoMode.Build)]
    [InlineData("auto: none", AutoMode.None)]
    [InlineData("", AutoMode.None)]
    [InlineData("auto:", AutoMode.None)]
    public async Task LoadAsync_PipelineAuto_ReadIntoRecord(string line, AutoMode expected)
    {
        // Given a pipeline with or without 'auto:'
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app.yaml", TestWorkspace.Pipeline + "\n" + line + "\n");

        // When loaded
        var pipeline = (await ws.LoadAsync()).GetPipeline("app");

        // Then the mode is as written, none by default
        Assert.Equal(expected, pipeline.Auto);
    }

    [Theory]
    [InlineData("bulid", "did you mean 'build'?")]
    [InlineData("true", "write 'auto: build'")]
    [InlineData("promote", "'auto: none' (the default)")]
    public async Task LoadAsync_PipelineAutoUnknown_RefusedAtValueWithFix(string value, string inFix)
    {
        // Given a pipeline with an auto mode that does not exist
        using var ws = new TestWorkspace();
        var text = TestWorkspace.Pipeline + "\nauto: " + value + "\n";
        ws.Write("pipelines/app.yaml", text);

        // When loaded
        var error = await ws.SingleErrorAsync();

        // Then the value is named with both modes
        error.AssertAt(ws.PathOf("pipelines/app.yaml"), text, "auto: ", skip: "auto: ".Length);
        error.AssertSays($"auto '{value}' is neither 'build' nor 'none'", inFix);
        Assert.Contains("auto: build", error.Fix, StringComparison.Ordinal);
    }
}
