using System.Text;
using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker;

/// <summary>
/// Decodes <c>X-Docker-Container-Path-Stat</c> (<c>HEAD /containers/{id}/archive</c>): standard base64 of
/// the JSON <c>{"name","size","mode","mtime","linkTarget"}</c>, <c>mode</c> being Go <c>os.FileMode</c> bits.
/// </summary>
internal static class PathStatHeader
{
    public const string Name = "X-Docker-Container-Path-Stat";

    /// <exception cref="FormatException">The header is not base64 of that JSON.</exception>
    public static PathStat Decode(string headerValue)
    {
        byte[] json;
        try
        {
            json = Convert.FromBase64String(headerValue.Trim());
        }
        catch (FormatException ex)
        {
            throw new FormatException($"the {Name} header is not base64: {ex.Message}", ex);
        }

        ContainerPathStatJson? stat;
        try
        {
            stat = JsonSerializer.Deserialize(json, EngineJsonContext.Default.ContainerPathStatJson);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"the {Name} header is not the expected JSON ({Encoding.UTF8.GetString(json)}): {ex.Message}", ex);
        }

        if (stat is null)
        {
            throw new FormatException($"the {Name} header holds JSON null");
        }

        return new PathStat(stat.Name ?? string.Empty, stat.Size, stat.Mode, stat.LinkTarget ?? string.Empty);
    }
}
