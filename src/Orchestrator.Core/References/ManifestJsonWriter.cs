using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Core.References;

/// <summary>The pieces every OCI manifest Orchestrator writes shares (image-spec <c>descriptor.md</c>, <c>annotations.md</c>).</summary>
internal static class ManifestJsonWriter
{
    /// <summary>Writes <c>{"mediaType":…,"digest":…,"size":…}</c>.</summary>
    public static void WriteDescriptor(this Utf8JsonWriter json, Descriptor descriptor)
    {
        json.WriteStartObject();
        json.WriteString("mediaType", descriptor.MediaType);
        json.WriteString("digest", descriptor.Digest.ToString());
        json.WriteNumber("size", descriptor.Size);
        json.WriteEndObject();
    }

    /// <summary>Writes <c>"annotations": {…}</c> sorted by key, or nothing when there are none.</summary>
    public static void WriteAnnotations(this Utf8JsonWriter json, IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is not { Count: > 0 })
        {
            return;
        }

        json.WriteStartObject("annotations");
        foreach (var (key, value) in annotations.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }
}
