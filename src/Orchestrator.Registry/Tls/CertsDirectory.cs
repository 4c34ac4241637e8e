using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Tls;

/// <summary>
/// docker's per-registry certificate folder, <c>/etc/docker/certs.d/HOST:PORT/</c>, read with the docker daemon's rules
/// (moby <c>registry.ReadCertsDirectory</c>): every <c>*.crt</c> is a CA certificate trusted for that registry; every
/// <c>NAME.cert</c> is a client certificate whose key is <c>NAME.key</c>, and one without the other is an error. The root
/// is <c>$ORCHESTRATOR_CERTS_D</c> when set (tests, rootless set-ups), else <c>/etc/docker/certs.d</c>.
/// </summary>
internal static class CertsDirectory
{
    /// <summary>The environment variable that replaces <see cref="DefaultRoot"/>.</summary>
    public const string RootVariable = "ORCHESTRATOR_CERTS_D";

    /// <summary>Where the docker daemon looks.</summary>
    public const string DefaultRoot = "/etc/docker/certs.d";

    /// <summary>The root in force: <c>$ORCHESTRATOR_CERTS_D</c>, or <see cref="DefaultRoot"/>.</summary>
    public static string Root(Func<string, string?>? environment = null) =>
        (environment ?? Environment.GetEnvironmentVariable)(RootVariable) is { Length: > 0 } root ? root : DefaultRoot;

    /// <summary>
    /// The folder of <paramref name="host"/> (host[:port] as in image references) under <paramref name="root"/> and what
    /// it holds; <see cref="Contents.Empty"/> when there is no such folder.
    /// </summary>
    /// <exception cref="RegistryException">A <c>.cert</c> without its <c>.key</c>, a <c>.key</c> without its <c>.cert</c>, or an unreadable folder.</exception>
    public static Contents Read(string root, string host)
    {
        var folder = Path.Combine(root, host);
        if (!Directory.Exists(folder))
        {
            return Contents.Empty;
        }

        string[] files;
        try
        {
            files = Directory.GetFiles(folder);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new RegistryException($"the certificate folder {folder} for {host} cannot be read ({ex.Message}): make it readable for the user running Orchestrator, or set {RootVariable} to another certs.d root");
        }

        Array.Sort(files, StringComparer.Ordinal);
        var roots = files.Where(f => f.EndsWith(".crt", StringComparison.Ordinal)).ToList();
        (string Cert, string Key)? client = null;
        foreach (var cert in files.Where(f => f.EndsWith(".cert", StringComparison.Ordinal)))
        {
            var key = cert[..^".cert".Length] + ".key";
            if (!files.Contains(key, StringComparer.Ordinal))
            {
                throw new RegistryException($"{cert} is a client certificate without its key {Path.GetFileName(key)} in {folder}: add the key, or rename the file to .crt if it is a CA certificate (docker's certs.d rule)");
            }

            client ??= (cert, key);
        }

        foreach (var key in files.Where(f => f.EndsWith(".key", StringComparison.Ordinal)))
        {
            var cert = key[..^".key".Length] + ".cert";
            if (!files.Contains(cert, StringComparer.Ordinal))
            {
                throw new RegistryException($"{key} is a key without its client certificate {Path.GetFileName(cert)} in {folder}: add the certificate (named .cert), or remove the key (docker's certs.d rule)");
            }
        }

        return new Contents(folder, roots, client?.Cert, client?.Key);
    }

    /// <summary>What a registry's certs.d folder holds.</summary>
    /// <param name="Folder">The folder read, or null when there was none.</param>
    /// <param name="CaFiles">The <c>*.crt</c> files, sorted.</param>
    /// <param name="CertFile">The first <c>*.cert</c> (sorted by name), or null.</param>
    /// <param name="KeyFile">Its <c>*.key</c>, or null.</param>
    public sealed record Contents(string? Folder, IReadOnlyList<string> CaFiles, string? CertFile, string? KeyFile)
    {
        /// <summary>No folder.</summary>
        public static Contents Empty { get; } = new(null, [], null, null);
    }
}
