using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Docker;

// Wire shapes of Engine API v1.41 (docs.docker.com/engine/api/v1.41). Go's encoding/json matches names
// case-insensitively, so responses are read the same way; requests use the engine's own spelling.

/// <summary><c>GET /version</c>.</summary>
internal sealed class VersionResponse
{
    public string? Version { get; set; }

    public string? ApiVersion { get; set; }

    public string? Os { get; set; }

    public string? Arch { get; set; }
}

/// <summary><c>GET /images/{name}/json</c>, the parts read.</summary>
internal sealed class ImageInspectResponse
{
    public string? Id { get; set; }

    public List<string>? RepoTags { get; set; }

    public List<string>? RepoDigests { get; set; }

    public long Size { get; set; }

    public ImageConfigResponse? Config { get; set; }

    public string? Architecture { get; set; }

    public string? Os { get; set; }
}

internal sealed class ImageConfigResponse
{
    public string? User { get; set; }

    public List<string>? Env { get; set; }

    public List<string>? Entrypoint { get; set; }

    public List<string>? Cmd { get; set; }

    public string? WorkingDir { get; set; }

    public Dictionary<string, string>? Labels { get; set; }
}

/// <summary><c>POST /containers/create</c> body. Null members are omitted, so the image's values stay.</summary>
internal sealed class ContainerCreateRequest
{
    public required string Image { get; init; }

    // An empty array is sent as [] (not omitted): the engine then clears the image's entrypoint
    // (daemon merge() only inherits the image's when the field is absent/null).
    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public string? User { get; init; }

    public IReadOnlyList<string>? Env { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public bool AttachStdin { get; init; }

    public bool AttachStdout { get; init; }

    public bool AttachStderr { get; init; }

    public bool Tty { get; init; }

    public required HostConfigRequest HostConfig { get; init; }
}

internal sealed class HostConfigRequest
{
    public required string NetworkMode { get; init; }

    public bool ReadonlyRootfs { get; init; }

    public IReadOnlyDictionary<string, string>? Tmpfs { get; init; }

    public long? Memory { get; init; }

    public long? PidsLimit { get; init; }

    public IReadOnlyList<string>? CapDrop { get; init; }

    public IReadOnlyList<string>? SecurityOpt { get; init; }
}

internal sealed class ContainerCreateResponse
{
    public string? Id { get; set; }

    public List<string>? Warnings { get; set; }
}

internal sealed class ContainerWaitResponse
{
    public long StatusCode { get; set; }

    public ContainerWaitError? Error { get; set; }
}

internal sealed class ContainerWaitError
{
    public string? Message { get; set; }
}

/// <summary>The body of every engine error status.</summary>
internal sealed class ErrorResponse
{
    [JsonPropertyName("message")]
    public string? Message { get; set; }
}

/// <summary>The decoded <c>X-Docker-Container-Path-Stat</c> header (types.ContainerPathStat).</summary>
internal sealed class ContainerPathStatJson
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("size")]
    public long Size { get; set; }

    [JsonPropertyName("mode")]
    public uint Mode { get; set; }

    [JsonPropertyName("mtime")]
    public string? Mtime { get; set; }

    [JsonPropertyName("linkTarget")]
    public string? LinkTarget { get; set; }
}

/// <summary>One entry of <c>GET /containers/json</c> (types.Container), the members Orchestrator reads.</summary>
internal sealed class ContainerListEntry
{
    public string? Id { get; set; }

    public string? State { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>Unix seconds.</summary>
    public long? Created { get; set; }

    public string? Command { get; set; }
}

/// <summary>The JSON inside <c>X-Registry-Auth</c> (types.AuthConfig).</summary>
internal sealed class AuthConfigJson
{
    [JsonPropertyName("username")]
    public string? Username { get; init; }

    [JsonPropertyName("password")]
    public string? Password { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(ImageInspectResponse))]
[JsonSerializable(typeof(ContainerCreateRequest))]
[JsonSerializable(typeof(ContainerCreateResponse))]
[JsonSerializable(typeof(ContainerWaitResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ContainerPathStatJson))]
[JsonSerializable(typeof(List<ContainerListEntry>))]
[JsonSerializable(typeof(Dictionary<string, string[]>))]
[JsonSerializable(typeof(AuthConfigJson))]
[JsonSerializable(typeof(JsonMessage))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
