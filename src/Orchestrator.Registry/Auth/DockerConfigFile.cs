using System.Text;
using System.Text.Json;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Auth;

/// <summary>Where a registry's credential is found in docker's config.json, and what it is (values only in <see cref="AuthsEntry.Credential"/>).</summary>
internal abstract record DockerCredentialLocation(string Description)
{
    /// <summary>An <c>auths</c> entry that holds the credential itself.</summary>
    public sealed record AuthsEntry(string Description, RegistryCredential Credential) : DockerCredentialLocation(Description)
    {
        public override string ToString() => Description;
    }

    /// <summary>A credential helper to run, from <c>credHelpers</c> or <c>credsStore</c>, and the server URL to ask it for.</summary>
    public sealed record Helper(string HelperName, string Origin, string ServerUrl) : DockerCredentialLocation($"docker-credential-{HelperName} ({Origin})");
}

/// <summary>
/// docker's <c>config.json</c> read for credentials, matched to a registry host as the docker CLI does
/// (docker/cli <c>cli/config/configfile/file.go</c> and <c>registry/auth.go</c> <c>ResolveAuthConfig</c>):
/// <list type="number">
/// <item><c>credHelpers[HOST]</c>: docker's precedence, the helper named for the host wins.</item>
/// <item>An <c>auths</c> entry holding a credential, keyed by <c>HOST</c> exactly, else by any key whose host part
/// (scheme and path stripped: <c>https://HOST</c>, <c>http://HOST/v1/</c>) is <c>HOST</c>; Docker Hub
/// (<c>docker.io</c>, <c>index.docker.io</c>, <c>registry-1.docker.io</c>) is <c>https://index.docker.io/v1/</c>.
/// Entries without a credential (docker writes <c>{}</c> when a store holds it) are skipped.</item>
/// <item><c>credsStore</c>: the store for every other registry.</item>
/// </list>
/// </summary>
internal sealed class DockerConfigFile
{
    /// <summary>The server address docker uses for Docker Hub in config.json and towards credential helpers.</summary>
    public const string DockerHubServer = "https://index.docker.io/v1/";

    private const long MaxBytes = 4 * 1024 * 1024;
    private readonly DockerConfigDocument _document;

    private DockerConfigFile(string path, DockerConfigDocument document)
    {
        Path = path;
        _document = document;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Where config.json is: <c>$DOCKER_CONFIG/config.json</c>, else <c>$HOME/.docker/config.json</c>; null when neither is known.</summary>
    public static string? Locate(Func<string, string?> environment)
    {
        var folder = environment("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(folder))
        {
            var home = environment("HOME");
            folder = string.IsNullOrEmpty(home) ? null : System.IO.Path.Combine(home, ".docker");
        }

        return folder is null ? null : System.IO.Path.Combine(folder, "config.json");
    }

    /// <summary>Reads <paramref name="path"/>; null when the file does not exist.</summary>
    /// <exception cref="InputException">The file cannot be read or is not a JSON object of docker's shape; says which file, never its content.</exception>
    public static DockerConfigFile? Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            if (info.Length > MaxBytes)
            {
                throw new InputException($"docker's config file {path} is larger than {MaxBytes / (1024 * 1024)} MiB: point DOCKER_CONFIG at a folder with a usable config.json");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"docker's config file {path} cannot be read ({ex.GetType().Name}): fix its permissions or point DOCKER_CONFIG elsewhere");
        }

        try
        {
            var document = JsonSerializer.Deserialize(bytes, DockerConfigJsonContext.Default.DockerConfigDocument)
                ?? throw new JsonException();
            return new DockerConfigFile(path, document);
        }
        catch (JsonException ex)
        {
            // The parser's message can quote a value (a secret): give only the position.
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new InputException($"docker's config file {path} is not valid JSON of docker's shape{where}: fix it (docker login rewrites it) or point DOCKER_CONFIG elsewhere");
        }
    }

    /// <summary>Where <paramref name="host"/>'s credential is (see the class remarks for the order); null when the file has none for it.</summary>
    /// <exception cref="InputException">The entry's <c>auth</c> is not base64 of <c>user:password</c>.</exception>
    public DockerCredentialLocation? Find(string host)
    {
        var server = ServerAddress(host);
        if (_document.CredHelpers is { } helpers
            && (helpers.TryGetValue(host, out var helper) || helpers.TryGetValue(server, out helper))
            && !string.IsNullOrEmpty(helper))
        {
            return new DockerCredentialLocation.Helper(helper, $"credHelpers entry for {host} in {Path}", server);
        }

        if (FindAuthsEntry(host, server) is { } found && ToCredential(found.Key, found.Entry) is { } credential)
        {
            var kind = credential.IsIdentityToken ? "identity token of the auths entry" : "auths entry";
            return new DockerCredentialLocation.AuthsEntry($"the {kind} for {found.Key} in {Path}", credential);
        }

        return string.IsNullOrEmpty(_document.CredsStore)
            ? null
            : new DockerCredentialLocation.Helper(_document.CredsStore, $"credsStore in {Path}", server);
    }

    /// <summary>The key docker files <paramref name="host"/> under: the host itself, or <see cref="DockerHubServer"/> for Docker Hub.</summary>
    public static string ServerAddress(string host) =>
        host is "docker.io" or "index.docker.io" or "registry-1.docker.io" ? DockerHubServer : host;

    /// <summary>The host part of an <c>auths</c> key: scheme and path stripped (docker's <c>ConvertToHostname</c>).</summary>
    public static string HostOf(string key)
    {
        var rest = key;
        if (rest.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["http://".Length..];
        }
        else if (rest.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["https://".Length..];
        }

        var slash = rest.IndexOf('/');
        return slash < 0 ? rest : rest[..slash];
    }

    private (string Key, DockerAuthEntry Entry)? FindAuthsEntry(string host, string server)
    {
        if (_document.Auths is not { } auths)
        {
            return null;
        }

        if (auths.TryGetValue(server, out var exact) && HasCredential(exact))
        {
            return (server, exact!);
        }

        // Ordinal key order, so the choice among several spellings of one host does not depend on the file's order.
        var hub = server == DockerHubServer;
        foreach (var (key, entry) in auths.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            var keyHost = HostOf(key);
            var matches = hub ? ServerAddress(keyHost) == DockerHubServer : string.Equals(keyHost, host, StringComparison.OrdinalIgnoreCase);
            if (matches && HasCredential(entry))
            {
                return (key, entry!);
            }
        }

        return null;
    }

    private static bool HasCredential(DockerAuthEntry? entry) =>
        entry is not null && (!string.IsNullOrEmpty(entry.Auth) || !string.IsNullOrEmpty(entry.IdentityToken)
            || (!string.IsNullOrEmpty(entry.Username) && entry.Password is not null));

    private RegistryCredential? ToCredential(string key, DockerAuthEntry entry)
    {
        var username = entry.Username;
        var password = entry.Password;
        if (!string.IsNullOrEmpty(entry.Auth))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(entry.Auth));
            }
            catch (FormatException)
            {
                throw new InputException($"the auths entry for {key} in {Path} has an 'auth' that is not base64: run docker login {HostOf(key)} again or fix the entry");
            }

            var colon = decoded.IndexOf(':');
            if (colon <= 0)
            {
                throw new InputException($"the auths entry for {key} in {Path} has an 'auth' that is not base64 of user:password: run docker login {HostOf(key)} again or fix the entry");
            }

            username = decoded[..colon];
            password = decoded[(colon + 1)..];
        }

        // docker prefers the identity token when an entry has one: it is exchanged for bearer tokens instead of the password.
        if (!string.IsNullOrEmpty(entry.IdentityToken))
        {
            return new RegistryCredential(string.IsNullOrEmpty(username) ? "<token>" : username, entry.IdentityToken, IsIdentityToken: true);
        }

        return string.IsNullOrEmpty(username) || password is null ? null : new RegistryCredential(username, password);
    }
}
