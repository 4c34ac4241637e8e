using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Jobs;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// Reads the <c>daemon:</c> section of orchestrator.yaml into <see cref="DaemonSettings"/>: where it
/// listens, how many jobs it runs at once, how often it watches, where it promotes on its own, and
/// which bearer tokens may call it (by the name of the environment variable holding each secret).
/// </summary>
internal static partial class DaemonReader
{
    public const int DefaultConcurrency = 2;
    public const int DefaultWatchIntervalSeconds = 30;

    private const string SecretFix = "put the secret in an environment variable and name it with secret-env, e.g. 'secret-env: ORCHESTRATOR_TOKEN_CI'";

    private static readonly string[] DaemonKeys = ["urls", "concurrency", "watch-interval-seconds", "auto-promote", "tokens", "dashboard", "lease-seconds"];
    private static readonly string[] DashboardKeys = ["public-read"];
    private static readonly string[] TokenKeys = ["name", "secret-env", "roles"];

    // A pasted secret must not get a "did you mean 'secret-env'?", which would invite pasting it there instead.
    private static readonly Dictionary<string, string> SecretKeys = new(StringComparer.Ordinal)
    {
        ["secret"] = SecretFix,
        ["token"] = SecretFix,
        ["password"] = SecretFix,
        ["value"] = SecretFix,
    };

    /// <summary>
    /// The settings; <see cref="DaemonSettings.Default"/> when the section is absent or empty. Problems go
    /// to <paramref name="file"/>; the caller refuses the config when any were found. Stage references
    /// (<c>auto-promote</c>, <c>promote:STAGE</c>) are only checked when <paramref name="stagesAreValid"/>,
    /// so a misspelt stage is reported once, in <c>stages</c>, not again at every role naming it.
    /// </summary>
    public static DaemonSettings Read(SourceFile file, MappingReader config, IReadOnlyList<string> stages, bool stagesAreValid)
    {
        var reader = config.Mapping("daemon", DaemonKeys, what: "'daemon'");
        if (reader is null)
        {
            return DaemonSettings.Default;
        }

        var urls = ReadUrls(file, reader.String("urls", example: DaemonSettings.DefaultUrls));
        var concurrency = AtLeastOne(file, reader.Int("concurrency", example: "2"), "concurrency",
            "jobs the daemon runs at once, e.g. 'concurrency: 2'");
        var interval = AtLeastOne(file, reader.Int("watch-interval-seconds", example: "30"), "watch-interval-seconds",
            "seconds between checks for changed pipelines, locks and base digests, e.g. 'watch-interval-seconds: 30'");
        var autoPromote = ReadAutoPromote(file, reader, stages, stagesAreValid);
        var tokens = ReadTokens(file, reader, stages, stagesAreValid);

        // Off unless said: a dashboard that shows what runs where to anyone on the network is a choice, not a default.
        var publicRead = reader.Mapping("dashboard", DashboardKeys, what: "'daemon.dashboard'")?.Bool("public-read") ?? false;

        var leaseSeconds = AtLeastOne(file, reader.Int("lease-seconds", example: "30"), "lease-seconds",
            "seconds a replica's claim on a job holds without a heartbeat on a shared PostgreSQL queue, e.g. 'lease-seconds: 30'");

        return new DaemonSettings(
            urls ?? DaemonSettings.DefaultUrls,
            concurrency ?? DefaultConcurrency,
            tokens,
            autoPromote,
            TimeSpan.FromSeconds(interval ?? DefaultWatchIntervalSeconds),
            publicRead)
        {
            LeaseDuration = leaseSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DaemonSettings.DefaultLeaseDuration,
        };
    }

    /// <summary>The URLs joined by ';', as ASP.NET Core's <c>--urls</c> takes them, or null when absent or wrong.</summary>
    private static string? ReadUrls(SourceFile file, Located<string>? value)
    {
        if (value is not { } urls)
        {
            return null;
        }

        var entries = urls.Value.Split(';').Select(e => e.Trim()).ToList();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ok = true;
        foreach (var entry in entries)
        {
            if (entry.Length == 0)
            {
                file.Error(urls.Node, "'urls' in 'daemon' has an empty entry (two ';' in a row, or one at an end)",
                    $"separate URLs with a single ';', e.g. 'urls: {DaemonSettings.DefaultUrls}'");
                ok = false;
            }
            else if (ListenUrlProblem(entry) is { } problem)
            {
                // A URL with user info may hold a password: name it without echoing it.
                var shown = entry.Contains('@', StringComparison.Ordinal) ? "(not shown)" : $"'{entry}'";
                file.Error(urls.Node, $"daemon url {shown} {problem}",
                    $"write it as http://HOST:PORT, e.g. 'urls: {DaemonSettings.DefaultUrls}'; separate several with ';'");
                ok = false;
            }
            else if (!seen.Add(entry.TrimEnd('/')))
            {
                file.Error(urls.Node, $"daemon url '{entry}' is listed twice; the second bind would fail", "remove one of them");
                ok = false;
            }
        }

        return ok ? string.Join(';', entries) : null;
    }

    /// <summary>Why <paramref name="url"/> is not an <c>http://HOST:PORT</c> Kestrel can bind, or null when it is.</summary>
    internal static string? ListenUrlProblem(string url)
    {
        const string scheme = "http://";
        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return "uses https; the daemon serves plain HTTP (put a TLS-terminating proxy in front of it for https)";
        }

        if (!url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return "is not an http:// URL";
        }

        var authority = url[scheme.Length..];
        if (authority.EndsWith('/'))
        {
            authority = authority[..^1];
        }

        if (authority.IndexOfAny(['/', '?', '#']) >= 0)
        {
            return "has a path; the daemon listens on a host and port only";
        }

        if (authority.Contains('@', StringComparison.Ordinal))
        {
            return "carries credentials; never put them in definitions";
        }

        var colon = authority.LastIndexOf(':');
        if (colon < 0 || authority.EndsWith(']'))
        {
            return "has no port";
        }

        var host = authority[..colon];
        var port = authority[(colon + 1)..];
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
        {
            return $"has port '{port}', which is not a number from 1 to 65535";
        }

        // '*' and '+' are Kestrel's "every address"; IPv6 literals come in brackets.
        var hostOk = host is "*" or "+"
            || (host.StartsWith('[') && host.EndsWith(']') && System.Net.IPAddress.TryParse(host[1..^1], out _))
            || Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4;
        return hostOk ? null : $"has host '{host}', which is not a host name or IP address";
    }

    private static int? AtLeastOne(SourceFile file, Located<int>? value, string key, string fix)
    {
        if (value is not { } given)
        {
            return null;
        }

        if (given.Value < 1)
        {
            file.Error(given.Node, $"'{key}' in 'daemon' is {given.Value}; it must be at least 1", $"set the number of {fix}");
            return null;
        }

        return given.Value;
    }

    private static List<string> ReadAutoPromote(SourceFile file, MappingReader reader, IReadOnlyList<string> stages, bool stagesAreValid)
    {
        var result = new List<string>();
        var later = stages.Skip(1).ToList();
        var list = reader.StringList("auto-promote", example: later.Count > 0 ? $"[{later[^1]}]" : "[production]");
        foreach (var stage in list ?? [])
        {
            if (stagesAreValid && stages.Count > 0 && stage.Value == stages[0])
            {
                file.Error(stage.Node, $"auto-promote names '{stage.Value}', the first stage; builds are pushed there, nothing is promoted into it",
                    later.Count > 0 ? $"name a later stage ({string.Join(", ", later)}), or remove it" : "remove it; with one stage there is nowhere to promote to");
            }
            else if (stagesAreValid && !stages.Contains(stage.Value, StringComparer.Ordinal))
            {
                file.Error(stage.Node, $"auto-promote names '{stage.Value}', which is not one of the stages ({string.Join(", ", stages)})",
                    Suggestions.Closest(stage.Value, later) is { } close
                        ? $"did you mean '{close}'?"
                        : later.Count > 0 ? $"name a later stage ({string.Join(", ", later)}), or remove it" : "remove it; with one stage there is nowhere to promote to");
            }
            else if (result.Contains(stage.Value, StringComparer.Ordinal))
            {
                file.Error(stage.Node, $"auto-promote lists '{stage.Value}' twice", "remove the second one");
            }
            else
            {
                result.Add(stage.Value);
            }
        }

        return result;
    }

    private static List<TokenDefinition> ReadTokens(SourceFile file, MappingReader reader, IReadOnlyList<string> stages, bool stagesAreValid)
    {
        var result = new List<TokenDefinition>();
        var items = reader.List("tokens", "mappings with name, secret-env and roles",
            example: "[{ name: ci, secret-env: ORCHESTRATOR_TOKEN_CI, roles: [read, build] }]");
        var names = new Dictionary<string, Located<string>>(StringComparer.Ordinal);
        var envs = new Dictionary<string, (string Token, Located<string> Node)>(StringComparer.Ordinal);
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, items![i], $"daemon.tokens[{i}]", TokenKeys, SecretKeys);
            if (item is null)
            {
                continue;
            }

            var name = item.String("name", required: true, example: "ci");
            var nameOk = false;
            if (name is { } n)
            {
                if (!DefinitionRules.Name().IsMatch(n.Value))
                {
                    file.Error(n.Node, $"token name '{n.Value}' is invalid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
                        "rename it, e.g. 'name: ci'; the name is recorded as who requested each job");
                }
                else if (names.TryGetValue(n.Value, out var first))
                {
                    file.Error(n.Node, $"token name '{n.Value}' is used twice (first at line {first.Node.Start.Line}); jobs record it as who requested them",
                        "give each token its own name");
                }
                else
                {
                    names[n.Value] = n;
                    nameOk = true;
                }
            }

            var secretEnv = ReadSecretEnv(file, item, name is { } named ? named.Value : null);
            if (secretEnv is { } env && envs.TryGetValue(env.Value, out var other))
            {
                file.Error(env.Node, $"secret-env '{env.Value}' is already used by token '{other.Token}' (line {other.Node.Node.Start.Line}); the daemon could not tell the two apart",
                    "give each token its own environment variable (and secret)");
                secretEnv = null;
            }
            else if (secretEnv is { } fresh)
            {
                envs[fresh.Value] = (name?.Value ?? $"tokens[{i}]", fresh);
            }

            var roles = ReadRoles(file, item, stages, stagesAreValid);
            if (nameOk && secretEnv is { } secret && roles is not null)
            {
                result.Add(new TokenDefinition(name!.Value.Value, secret.Value, roles));
            }
        }

        return result;
    }

    private static Located<string>? ReadSecretEnv(SourceFile file, MappingReader item, string? tokenName)
    {
        var example = "ORCHESTRATOR_TOKEN_" + (tokenName is null ? "CI" : NonName().Replace(tokenName.ToUpperInvariant(), "_"));
        var value = item.String("secret-env", required: true, example: example);
        if (value is not { } env)
        {
            return null;
        }

        if (DefinitionRules.IsSecretEnvReference(env.Value))
        {
            return env;
        }

        // The value may be the secret itself: never echo it into an error, a log or a CI transcript.
        if (DefinitionRules.LooksLikeSecret(env.Value))
        {
            file.Error(env.Node, $"'secret-env' in {item.What} looks like a secret itself, not the name of an environment variable",
                $"put the secret in an environment variable and name it with secret-env, e.g. 'secret-env: {example}'");
        }
        else
        {
            file.Error(env.Node, $"'secret-env' in {item.What} must name an environment variable: upper-case letters, digits and '_', not starting with a digit",
                $"name the variable that holds the secret, e.g. 'secret-env: {example}'; never write the secret itself here");
        }

        return null;
    }

    private static List<string>? ReadRoles(SourceFile file, MappingReader item, IReadOnlyList<string> stages, bool stagesAreValid)
    {
        var known = new List<string> { JobAuthorization.Read, JobAuthorization.Build, JobAuthorization.Validate };
        known.AddRange(stages.Select(JobAuthorization.Promote));
        var list = item.StringList("roles", required: true, example: "[read, build, validate]");
        if (list is null)
        {
            return null;
        }

        if (list.Count == 0)
        {
            file.Error(item.Raw("roles")!, $"'roles' in {item.What} is empty; the token could not do anything",
                $"give it roles from: {string.Join(", ", known)}; or remove the token");
            return null;
        }

        var result = new List<string>();
        var ok = true;
        foreach (var role in list)
        {
            var stage = role.Value.StartsWith("promote:", StringComparison.Ordinal) ? role.Value["promote:".Length..] : null;
            if (stage is not null && (stagesAreValid || stage.Length == 0))
            {
                if (!stages.Contains(stage, StringComparer.Ordinal))
                {
                    var promotes = stages.Select(JobAuthorization.Promote).ToList();
                    file.Error(role.Node, $"role '{role.Value}' names stage '{stage}', which is not one of the stages ({string.Join(", ", stages)})",
                        Suggestions.Closest(stage, stages) is { } close
                            ? $"did you mean 'promote:{close}'?"
                            : $"use one of: {string.Join(", ", promotes)}");
                    ok = false;
                    continue;
                }
            }
            else if (stage is null && !known.Contains(role.Value, StringComparer.Ordinal))
            {
                file.Error(role.Node, $"unknown role '{role.Value}' in {item.What}",
                    Suggestions.DidYouMean(role.Value, known, "known roles") + " (promote:STAGE for each stage)");
                ok = false;
                continue;
            }

            if (result.Contains(role.Value, StringComparer.Ordinal))
            {
                file.Error(role.Node, $"role '{role.Value}' is listed twice in {item.What}", "remove the second one");
                ok = false;
                continue;
            }

            result.Add(role.Value);
        }

        return ok ? result : null;
    }

    [GeneratedRegex("[^A-Z0-9]+", RegexOptions.CultureInvariant)]
    private static partial Regex NonName();
}
