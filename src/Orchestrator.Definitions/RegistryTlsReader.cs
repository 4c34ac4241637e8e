using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;

namespace Orchestrator.Definitions;

/// <summary>
/// The TLS keys of one registry entry in orchestrator.yaml (<c>ca-file</c>, <c>cert-file</c>, <c>key-file</c>,
/// <c>insecure</c>, <c>allow-insecure-remote</c>), checked as docker's daemon checks its <c>certs.d</c> files: every file
/// named must exist and load as PEM before anything runs, so a typo fails at its line, not at the first push.
/// </summary>
internal static class RegistryTlsReader
{
    /// <summary>The keys this reader owns, for the registry entry's list of known keys.</summary>
    public static readonly string[] Keys = ["ca-file", "cert-file", "key-file", "allow-insecure-remote"];

    /// <summary>
    /// The registry's <see cref="RegistryTls"/>; problems are reported to <paramref name="file"/> (the result is then
    /// meaningless, and the caller drops the config).
    /// </summary>
    /// <param name="file">The config file, for errors at file:line:column.</param>
    /// <param name="entry">The registry's mapping.</param>
    /// <param name="stage">The stage the registry belongs to, for messages.</param>
    /// <param name="host">host[:port] of the registry.</param>
    /// <param name="plainHttp">The url is http://.</param>
    /// <param name="loopback">The host is localhost, 127.0.0.0/8 or ::1.</param>
    /// <param name="insecure">The value of <c>insecure:</c> (read by the caller, which reports a non-boolean).</param>
    public static RegistryTls Read(SourceFile file, MappingReader entry, string stage, string host, bool plainHttp, bool loopback, bool? insecure)
    {
        var allowRemote = entry.Bool("allow-insecure-remote");
        if (insecure == true && !loopback && allowRemote != true)
        {
            // One word must not silently turn off what protects a remote registry: the second key says "I know".
            file.Error(entry.Raw("insecure")!,
                $"registry '{stage}' says 'insecure: true' for {host}, which is not loopback: "
                + (plainHttp
                    ? "credentials and images would cross the network in clear"
                    : "its certificate would not be verified, so anyone on the path could pose as the registry"),
                $"make TLS work instead (https://{host} with 'ca-file:' naming the registry's CA, or its CA in /etc/docker/certs.d/{host}/ca.crt); "
                + "if the network is trusted, write 'allow-insecure-remote: true' beside 'insecure: true'");
        }

        if (allowRemote == true && insecure != true)
        {
            file.Error(entry.Raw("allow-insecure-remote")!, $"'allow-insecure-remote: true' in registry '{stage}' has no effect without 'insecure: true'",
                "remove it, or write 'insecure: true' too if this registry is to be reached without verification");
        }

        var caFile = PathOf(file, entry, "ca-file", "certs/ca.crt");
        var certFile = PathOf(file, entry, "cert-file", "certs/client.cert");
        var keyFile = PathOf(file, entry, "key-file", "certs/client.key");
        var written = new[] { ("ca-file", caFile), ("cert-file", certFile), ("key-file", keyFile) }.Where(k => k.Item2 is not null).ToList();
        if (plainHttp && written.Count > 0)
        {
            var (key, value) = written[0];
            file.Error(value!.Value.Node, $"'{key}' in registry '{stage}' has no effect: the url is plain http://{host}, which speaks no TLS",
                $"use 'url: https://{host}', or remove '{key}'");
            return RegistryTls.None;
        }

        if (insecure == true && caFile is { } unusedCa)
        {
            file.Error(unusedCa.Node, $"'ca-file' in registry '{stage}' is never used: 'insecure: true' verifies nothing",
                "keep 'ca-file' and remove 'insecure: true' (recommended: the registry is then verified against that CA), or remove 'ca-file'");
        }

        if ((certFile is null) != (keyFile is null))
        {
            file.Error((certFile ?? keyFile)!.Value.Node, $"registry '{stage}' names only one of 'cert-file' and 'key-file'",
                "a client certificate needs its private key: set both (PEM files, the key unencrypted), or neither");
        }

        var caOk = caFile is not { } ca || CheckCaBundle(file, ca, stage);
        var pairOk = certFile is not { } cert || keyFile is not { } pem || CheckClientPair(file, cert, pem, stage);
        return caOk && pairOk
            ? new RegistryTls(caFile?.Value, certFile?.Value, keyFile?.Value, insecure == true)
            : RegistryTls.None;
    }

    private static Located<string>? PathOf(SourceFile file, MappingReader entry, string key, string example) =>
        entry.String(key, example: example) is { } given
            ? new Located<string>(Path.GetFullPath(given.Value, file.Directory), given.Node)
            : null;

    private static bool CheckCaBundle(SourceFile file, Located<string> ca, string stage)
    {
        if (!Readable(file, ca, "ca-file", stage))
        {
            return false;
        }

        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(ca.Value);
            if (bundle.Count > 0)
            {
                return true;
            }

            file.Error(ca.Node, $"'ca-file' of registry '{stage}' ({ca.Value}) holds no PEM certificate",
                "name a PEM bundle of CA certificates ('-----BEGIN CERTIFICATE-----' blocks), e.g. the registry CA's ca.crt");
        }
        catch (CryptographicException ex)
        {
            file.Error(ca.Node, $"'ca-file' of registry '{stage}' ({ca.Value}) is not a readable PEM certificate bundle: {ex.Message}",
                "name a PEM bundle of CA certificates ('-----BEGIN CERTIFICATE-----' blocks); convert DER with 'openssl x509 -inform der -in CA.der -out ca.crt'");
        }
        finally
        {
            foreach (var certificate in bundle)
            {
                certificate.Dispose();
            }
        }

        return false;
    }

    private static bool CheckClientPair(SourceFile file, Located<string> cert, Located<string> key, string stage)
    {
        if (!Readable(file, cert, "cert-file", stage) | !Readable(file, key, "key-file", stage))
        {
            return false;
        }

        try
        {
            using var pair = X509Certificate2.CreateFromPemFile(cert.Value, key.Value);
            return true;
        }
        catch (CryptographicException ex)
        {
            // The key's bytes never reach the message: only what kind of problem it is.
            file.Error(cert.Node, $"'cert-file' and 'key-file' of registry '{stage}' ({cert.Value}, {key.Value}) do not load as a PEM certificate and its private key: {ex.Message}",
                "name a PEM client certificate and the unencrypted PEM key it was made for (decrypt one with 'openssl pkey -in KEY -out client.key')");
            return false;
        }
    }

    private static bool Readable(SourceFile file, Located<string> path, string key, string stage)
    {
        try
        {
            using var stream = File.OpenRead(path.Value);
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            file.Error(path.Node, $"'{key}' of registry '{stage}' names {path.Value}, which does not exist",
                $"fix the path (it is relative to {file.Directory}), or remove '{key}'");
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            file.Error(path.Node, $"'{key}' of registry '{stage}' names {path.Value}, which cannot be read ({ex.Message})",
                "make it a readable file for the user running Orchestrator");
        }

        return false;
    }
}
