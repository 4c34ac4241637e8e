using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// <c>X-Registry-Auth</c> for pull and push: URL-safe base64 (with padding, Go's
/// <c>base64.URLEncoding</c>) of the JSON auth config. Anonymous access is <c>{}</c>; the engine
/// requires the header to be present either way.
/// </summary>
internal static class RegistryAuthHeader
{
    public const string Name = "X-Registry-Auth";

    public static string Encode(RegistryCredentials? credentials)
    {
        var json = credentials is null
            ? "{}"u8.ToArray()
            : JsonSerializer.SerializeToUtf8Bytes(
                new AuthConfigJson { Username = credentials.Username, Password = credentials.Password },
                EngineJsonContext.Default.AuthConfigJson);
        return Convert.ToBase64String(json).Replace('+', '-').Replace('/', '_');
    }
}
