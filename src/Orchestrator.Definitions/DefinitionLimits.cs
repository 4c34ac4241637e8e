namespace Orchestrator.Definitions;

/// <summary>
/// Size limits on definitions (orchestrator.yaml, base-images/, pipelines/, locks, requirements files).
/// Real definitions are a few KiB; the limits only stop a mistake or a hostile file (a 10 MB pipeline,
/// a 10 MB <c>user:</c>) from reaching the builder, the state store and every log line. README's
/// "Definitions" section lists them.
/// </summary>
public static class DefinitionLimits
{
    /// <summary>Largest definition file, in bytes. <value>1 MiB.</value></summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Longest single value (a scalar: a key, a string, a command argument), in characters. <value>8 KiB.</value></summary>
    public const int MaxScalarChars = 8 * 1024;

    /// <summary>Most items in one list or mapping (packages, tags, commands, lock entries). <value>5,000.</value></summary>
    public const int MaxItems = 5000;

    /// <summary>Deepest nesting of lists and mappings. <value>32.</value></summary>
    public const int MaxDepth = 32;

    /// <summary>Most values a file may expand to through aliases (<c>*name</c>). <value>100,000.</value></summary>
    public const int MaxExpandedValues = 100_000;

    /// <summary>Longest pipeline, base or variant name, in characters (names end up in file names and tags). <value>64.</value></summary>
    public const int MaxNameChars = 64;
}
