using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Tls;

/// <summary>
/// What a failed TLS connection to a registry means, in words that name the host, the check that failed and the
/// orchestrator.yaml option (or certs.d file) that fixes it, instead of .NET's "The SSL connection could not be
/// established". Two sources: the certificate checks of <see cref="RegistryTlsPolicy.Validate"/> (<see cref="Explain"/>),
/// and handshakes that fail elsewhere, e.g. a registry that asks for a client certificate (<see cref="FromTransport"/>).
/// </summary>
internal static class TlsFailures
{
    /// <summary>The message for a server certificate that failed <paramref name="errors"/> with chain status <paramref name="flags"/>.</summary>
    /// <param name="policy">The registry's policy: host, where trust came from.</param>
    /// <param name="certificate">The registry's certificate, or null when it sent none.</param>
    /// <param name="errors">The failed checks (chain errors already cleared when the extra roots vouched for it).</param>
    /// <param name="flags">The chain's status flags.</param>
    public static string Explain(RegistryTlsPolicy policy, X509Certificate2? certificate, SslPolicyErrors errors, X509ChainStatusFlags flags)
    {
        var host = policy.Host;
        var trusted = policy.RootsSource is null ? "the system trust store" : $"the system trust store and {policy.RootsSource}";
        var insecureHint = "'insecure: true' turns verification off (on loopback; elsewhere with 'allow-insecure-remote: true' too)";
        if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0 || certificate is null)
        {
            return $"TLS to registry {host} failed: the registry sent no certificate; check it is configured for TLS (http.tls), or use an http:// url if it speaks plain HTTP on loopback";
        }

        var what = $"the registry's certificate (subject '{certificate.Subject}', issuer '{certificate.Issuer}')";
        var problems = new List<string>();
        var fixes = new List<string>();
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
            {
                problems.Add($"{what} is signed by a CA that is not trusted (trusted: {trusted})");
                fixes.Add($"name the registry's CA certificate (PEM) in 'ca-file:' under this registry in orchestrator.yaml, or put it in {policy.CertsFolder}/ca.crt (docker's certs.d; the root is ${CertsDirectory.RootVariable} when set)");
            }

            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                var now = DateTime.UtcNow;
                problems.Add(certificate.NotAfter.ToUniversalTime() < now
                    ? $"{what} expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC"
                    : $"{what} is not valid before {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
                fixes.Add("renew the registry's certificate (or fix this machine's clock if it is wrong)");
            }

            if ((flags & X509ChainStatusFlags.Revoked) != 0)
            {
                problems.Add($"{what} is revoked");
                fixes.Add("the registry must serve a new certificate");
            }

            var other = flags & ~(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.Revoked
                | X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation);
            if (other != X509ChainStatusFlags.NoError || problems.Count == 0)
            {
                problems.Add($"{what} does not form a valid chain ({(other == X509ChainStatusFlags.NoError ? flags : other)})");
                fixes.Add("check the registry serves its full chain and that 'ca-file:' (or certs.d) holds the CA that issued it");
            }
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            problems.Add($"{what} does not name {HostName(host)} (it names {Names(certificate)})");
            fixes.Add($"use a url whose host the certificate names, or reissue the certificate with {HostName(host)} in its subjectAltName");
        }

        fixes.Add(insecureHint);
        return $"TLS to registry {host} failed: {string.Join("; and ", problems)}. Fix: {string.Join("; or ", fixes)}";
    }

    /// <summary>
    /// The typed error for a transport failure that is a TLS handshake failure (other than a certificate our callback
    /// refused, which arrives as a <see cref="RegistryException"/> already), or null when <paramref name="exception"/> is not one.
    /// </summary>
    public static RegistryException? FromTransport(Exception exception, string host, bool plainHttp, string? clientCertFile)
    {
        // In TLS 1.3 a refused client certificate arrives after the handshake, as an alert on the first read: an I/O error
        // whose innermost OpenSSL message names the alert.
        var clientRefused = Mentions(exception, "alert certificate required", "alert bad certificate", "alert certificate unknown", "alert unknown ca", "CertificateRequired", "BadCertificate");
        if (plainHttp || !(clientRefused || IsHandshakeFailure(exception)))
        {
            return null;
        }

        var detail = string.Join(" / ", Chain(exception).Skip(1).Select(e => e.Message).Distinct());
        string message;
        if (clientRefused)
        {
            // certs.d may have supplied a certificate the config does not name: say both possibilities when unsure.
            message = clientCertFile is null
                ? $"TLS to registry {host} failed: the registry wants a client certificate and got none it accepts ({detail}). Fix: name one in 'cert-file:' and 'key-file:' under this registry in orchestrator.yaml (or put client.cert and client.key in docker's certs.d folder for {host}), issued by a CA the registry trusts (http.tls.clientcas), with extendedKeyUsage clientAuth"
                : $"TLS to registry {host} failed: the registry refused the client certificate (cert-file {clientCertFile}) ({detail}). Fix: use a client certificate issued by a CA the registry trusts (http.tls.clientcas), with extendedKeyUsage clientAuth";
        }
        else if (Mentions(exception, "wrong version number", "packet length too long", "record layer failure", "unexpected message"))
        {
            message = $"TLS to registry {host} failed: it does not answer in TLS ({detail}). Fix: if the registry speaks plain HTTP, write its url as http://{host}";
        }
        else
        {
            message = $"TLS to registry {host} failed during the handshake ({detail}). Fix: check the registry's TLS configuration; the options are 'ca-file:', 'cert-file:'/'key-file:', docker's certs.d folder for {host}, and 'insecure: true'";
        }

        return new RegistryException(message, innerException: exception);
    }

    private static bool IsHandshakeFailure(Exception exception) =>
        Chain(exception).Any(e => e is AuthenticationException || e is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError });

    private static bool Mentions(Exception exception, params string[] words) =>
        Chain(exception).Any(e => words.Any(w => e.Message.Contains(w, StringComparison.OrdinalIgnoreCase)));

    private static IEnumerable<Exception> Chain(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }

    private static string HostName(string host) =>
        host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];

    private static string Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value == "2.5.29.17")
            {
                var san = new X509SubjectAlternativeNameExtension(extension.RawData);
                names.AddRange(san.EnumerateDnsNames().Select(n => $"DNS:{n}"));
                names.AddRange(san.EnumerateIPAddresses().Select(a => $"IP:{a}"));
            }
        }

        return names.Count > 0 ? string.Join(", ", names) : $"only its subject {certificate.Subject}";
    }
}
