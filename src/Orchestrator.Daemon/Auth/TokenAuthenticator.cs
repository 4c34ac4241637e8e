using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Core.Definitions;

namespace Orchestrator.Daemon.Auth;

/// <summary>Who called: the token's name (recorded as the job's actor) and its roles.</summary>
public sealed record Caller(string Name, IReadOnlySet<string> Roles)
{
    public bool Has(string role) => Roles.Contains(role);
}

/// <summary>
/// Bearer tokens from <c>daemon.tokens</c>, their secrets read once from the environment variables they
/// name. Only SHA-256 hashes of the secrets are kept; a presented secret is hashed and compared with
/// every configured hash in constant time, without stopping at a match, so neither the timing nor the
/// order of the tokens tells an attacker anything.
/// </summary>
internal sealed class TokenAuthenticator
{
    private readonly List<(string Name, byte[] Hash, IReadOnlySet<string> Roles)> _tokens = [];

    public TokenAuthenticator(IReadOnlyList<TokenDefinition> tokens, Func<string, string?> getEnvironmentVariable, ILogger logger)
    {
        foreach (var token in tokens)
        {
            var secret = getEnvironmentVariable(token.SecretEnv);
            if (string.IsNullOrEmpty(secret))
            {
                logger.LogWarning("Token {TokenName} is disabled: environment variable {SecretEnv} is not set; set it and restart the daemon to enable it", token.Name, token.SecretEnv);
                continue;
            }

            _tokens.Add((token.Name, SHA256.HashData(Encoding.UTF8.GetBytes(secret)), token.Roles.ToHashSet(StringComparer.Ordinal)));
        }

        if (_tokens.Count == 0)
        {
            logger.LogWarning("No token is enabled: every /api call will be refused with 401; declare daemon.tokens in orchestrator.yaml and set their environment variables");
        }
    }

    /// <summary>How many tokens are usable.</summary>
    public int EnabledCount => _tokens.Count;

    /// <summary>The caller an <c>Authorization</c> header names, or null for none, a malformed header or an unknown secret.</summary>
    public Caller? Authenticate(string? authorization)
    {
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(authorization) || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        Caller? match = null;
        foreach (var (name, hash, roles) in _tokens)
        {
            // No early exit: every configured token costs the same comparison whether or not one matched.
            if (CryptographicOperations.FixedTimeEquals(presented, hash))
            {
                match ??= new Caller(name, roles);
            }
        }

        return match;
    }
}
