using System.Text.Json.Serialization;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// The parts of docker's <c>config.json</c> (docker/cli <c>cli/config/configfile</c>) that hold registry credentials.
/// Property names match case-insensitively, as Go's encoding/json does; every other field is ignored.
/// </summary>
internal sealed class DockerConfigDocument
{
    /// <summary><c>auths</c>: server address (<c>HOST</c>, <c>https://HOST</c>, <c>https://index.docker.io/v1/</c> …) to its entry.</summary>
    [JsonPropertyName("auths")]
    public Dictionary<string, DockerAuthEntry?>? Auths { get; set; }

    /// <summary><c>credHelpers</c>: registry host to the suffix of its helper (<c>ecr-login</c> → <c>docker-credential-ecr-login</c>).</summary>
    [JsonPropertyName("credHelpers")]
    public Dictionary<string, string?>? CredHelpers { get; set; }

    /// <summary><c>credsStore</c>: the helper suffix for every registry without a <c>credHelpers</c> entry.</summary>
    [JsonPropertyName("credsStore")]
    public string? CredsStore { get; set; }
}

/// <summary>One <c>auths</c> entry: <c>auth</c> is base64 of <c>user:password</c>; <c>identitytoken</c> an OAuth2 refresh token.</summary>
internal sealed class DockerAuthEntry
{
    [JsonPropertyName("auth")]
    public string? Auth { get; set; }

    [JsonPropertyName("username")]
    public string? Username { get; set; }

    [JsonPropertyName("password")]
    public string? Password { get; set; }

    [JsonPropertyName("identitytoken")]
    public string? IdentityToken { get; set; }

    public override string ToString() => "auths entry (values hidden)";
}

/// <summary>The answer of <c>docker-credential-NAME get</c> (docker-credential-helpers <c>credentials.Credentials</c>).</summary>
internal sealed class CredentialHelperAnswer
{
    [JsonPropertyName("ServerURL")]
    public string? ServerUrl { get; set; }

    [JsonPropertyName("Username")]
    public string? Username { get; set; }

    [JsonPropertyName("Secret")]
    public string? Secret { get; set; }

    public override string ToString() => "credential helper answer (values hidden)";
}

/// <summary>Source-generated (Native AOT) serialization of docker's credential documents.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DockerConfigDocument))]
[JsonSerializable(typeof(CredentialHelperAnswer))]
internal sealed partial class DockerConfigJsonContext : JsonSerializerContext;
