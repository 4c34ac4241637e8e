using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Tls;

/// <summary>
/// How the socket handler of one registry verifies the registry and presents itself, resolved once from the registry's
/// <see cref="RegistryTls"/> and docker's certs.d folder (<see cref="CertsDirectory"/>), as the docker daemon does:
/// <list type="bullet">
/// <item>trust: the system trust store, plus the CA certificates of <c>ca-file:</c> or, when none is written, the
/// <c>*.crt</c> files of certs.d/HOST:PORT;</item>
/// <item>client certificate: <c>cert-file:</c>/<c>key-file:</c>, or else the <c>*.cert</c>/<c>*.key</c> pair of certs.d;</item>
/// <item><c>insecure: true</c>: any certificate is accepted (the config reader allows that only on loopback, or with
/// <c>allow-insecure-remote</c>).</item>
/// </list>
/// A certificate that fails is refused with a <see cref="RegistryException"/> thrown from the validation callback, which
/// the registry client surfaces as is (never retried: see <see cref="TransientFailure"/>); its message is
/// <see cref="TlsFailures.Explain"/>'s.
/// </summary>
internal sealed class RegistryTlsPolicy : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    private readonly X509Certificate2Collection _extraRoots;

    private RegistryTlsPolicy(string host, string certsFolder, X509Certificate2Collection extraRoots, string? rootsSource, X509Certificate2? client, string? clientSource, bool insecure)
    {
        Host = host;
        CertsFolder = certsFolder;
        _extraRoots = extraRoots;
        RootsSource = rootsSource;
        ClientCertificate = client;
        ClientSource = clientSource;
        Insecure = insecure;
    }

    /// <summary>host[:port] of the registry.</summary>
    public string Host { get; }

    /// <summary>The certs.d folder for <see cref="Host"/> (whether it exists or not), for messages.</summary>
    public string CertsFolder { get; }

    /// <summary>Where the extra trusted CAs come from (<c>ca-file /x/ca.crt</c>, <c>certs.d /etc/docker/certs.d/h:p</c>), or null for the system trust store only.</summary>
    public string? RootsSource { get; }

    /// <summary>The client certificate with its private key, or null.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>Where <see cref="ClientCertificate"/> comes from, for messages.</summary>
    public string? ClientSource { get; }

    /// <summary>Verification is off.</summary>
    public bool Insecure { get; }

    /// <summary>Resolves <paramref name="endpoint"/>'s TLS settings against the certs.d folder under <paramref name="certsRoot"/>.</summary>
    /// <exception cref="RegistryException">A file named (or found in certs.d) is missing or is not PEM.</exception>
    public static RegistryTlsPolicy Load(RegistryEndpoint endpoint, string certsRoot)
    {
        var tls = endpoint.Tls;
        var certsD = CertsDirectory.Read(certsRoot, endpoint.Host);
        var certsFolder = certsD.Folder ?? Path.Combine(certsRoot, endpoint.Host);

        // As docker does, and as the brief of issue 13 asks: what orchestrator.yaml writes wins over certs.d.
        var roots = new X509Certificate2Collection();
        string? rootsSource = null;
        if (tls.CaFile is { } caFile)
        {
            Import(roots, caFile, "ca-file");
            rootsSource = $"ca-file {caFile}";
        }
        else if (certsD.CaFiles.Count > 0)
        {
            foreach (var file in certsD.CaFiles)
            {
                Import(roots, file, "certs.d CA");
            }

            rootsSource = $"certs.d {certsFolder}";
        }

        X509Certificate2? client = null;
        string? clientSource = null;
        if (tls.CertFile is { } certFile && tls.KeyFile is { } keyFile)
        {
            client = LoadPair(certFile, keyFile, "cert-file/key-file");
            clientSource = $"cert-file {certFile}";
        }
        else if (certsD.CertFile is { } dCert && certsD.KeyFile is { } dKey)
        {
            client = LoadPair(dCert, dKey, "certs.d client certificate");
            clientSource = $"certs.d {dCert}";
        }

        return new RegistryTlsPolicy(endpoint.Host, certsFolder, roots, rootsSource, client, clientSource, tls.Insecure);
    }

    /// <summary>Sets <paramref name="handler"/>'s TLS options to this policy.</summary>
    public void Apply(SocketsHttpHandler handler)
    {
        handler.SslOptions.RemoteCertificateValidationCallback = Validate;
        if (ClientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate];
        }
    }

    /// <summary>
    /// The validation callback: true when the certificate passes (or <see cref="Insecure"/>); otherwise throws the
    /// <see cref="RegistryException"/> that says which check failed, so the message survives the TLS stack.
    /// </summary>
    /// <exception cref="RegistryException">The certificate fails a check.</exception>
    internal bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (Insecure || errors == SslPolicyErrors.None)
        {
            return true;
        }

        var server = certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        var flags = ChainFlags(chain);
        if (server is not null && (errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0 && _extraRoots.Count > 0)
        {
            // The system store did not vouch for it: try again with the registry's own CAs as extra roots.
            flags = BuildWithExtraRoots(server, chain);
            if (flags == X509ChainStatusFlags.NoError)
            {
                errors &= ~SslPolicyErrors.RemoteCertificateChainErrors;
            }
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        throw new RegistryException(TlsFailures.Explain(this, server, errors, flags));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var root in _extraRoots)
        {
            root.Dispose();
        }

        ClientCertificate?.Dispose();
    }

    private X509ChainStatusFlags BuildWithExtraRoots(X509Certificate2 server, X509Chain? presented)
    {
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
        if (presented is not null)
        {
            // Intermediates the registry sent: the custom chain needs them as the default one had them.
            foreach (var element in presented.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(server) ? X509ChainStatusFlags.NoError : ChainFlags(custom);
    }

    private static X509ChainStatusFlags ChainFlags(X509Chain? chain) =>
        chain?.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, status) => all | status.Status) ?? X509ChainStatusFlags.NoError;

    private static void Import(X509Certificate2Collection roots, string file, string what)
    {
        try
        {
            var before = roots.Count;
            roots.ImportFromPemFile(file);
            if (roots.Count == before)
            {
                throw new RegistryException($"the {what} file {file} holds no PEM certificate: name a PEM bundle of CA certificates ('-----BEGIN CERTIFICATE-----' blocks)");
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new RegistryException($"the {what} file {file} cannot be read as PEM certificates ({ex.Message}): fix or replace the file", innerException: ex);
        }
    }

    private static X509Certificate2 LoadPair(string certFile, string keyFile, string what)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new RegistryException($"the {what} {certFile} with key {keyFile} cannot be loaded ({ex.Message}): name a PEM certificate and its unencrypted PEM key", innerException: ex);
        }
    }
}
