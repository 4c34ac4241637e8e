using System.Globalization;
using System.Text.Json;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// A token service's answer (distribution "Token Authentication Specification", "Token Response Fields", and
/// "OAuth2 Token Authentication", "Token Response"): <c>token</c> or <c>access_token</c>, <c>expires_in</c> in seconds
/// (60 when absent), <c>issued_at</c> (RFC 3339, the server's clock), and a <c>refresh_token</c> when one was asked for.
/// </summary>
/// <param name="Token">The bearer token.</param>
/// <param name="ExpiresAt">When it stops being used: <c>issued_at</c> (else now) + <c>expires_in</c>, less a margin.</param>
/// <param name="RefreshToken">A refresh token to use for the next exchange, if the service gave one.</param>
internal sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt, string? RefreshToken)
{
    // Tokens without expires_in live 60 s (token spec); renew a little early so a request never races the expiry.
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(10);

    /// <summary>Parses <paramref name="body"/>; <paramref name="service"/> names the token service in errors.</summary>
    /// <exception cref="RegistryException">The body is not JSON or has no token; the message never quotes the body.</exception>
    public static TokenResponse Parse(byte[] body, string service, DateTimeOffset now)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var value = String(root, "token") is { Length: > 0 } t ? t : String(root, "access_token");
            if (string.IsNullOrEmpty(value))
            {
                throw new RegistryException($"{service} answered without a token: check the registry's auth service");
            }

            var lifetime = root.TryGetProperty("expires_in", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : DefaultLifetime;
            // As docker does: the lifetime counts from issued_at when the service says when it issued the token.
            var issued = String(root, "issued_at") is { } at
                && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                ? parsed
                : now;
            var expiresAt = issued + lifetime - (lifetime > ExpiryMargin * 2 ? ExpiryMargin : TimeSpan.Zero);
            return new TokenResponse(value, expiresAt, String(root, "refresh_token") is { Length: > 0 } r ? r : null);
        }
        catch (JsonException)
        {
            // The parser's message may quote the body, and the body may hold a token: say only that it is not JSON.
            throw new RegistryException($"{service} answered with something that is not JSON: check the registry's auth service");
        }
    }

    /// <summary>The token and expiry only: never the values.</summary>
    public override string ToString() => $"token until {ExpiresAt:O}";

    private static string? String(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
