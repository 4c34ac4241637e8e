using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions.Yaml;

/// <summary>A scalar value and the node it came from, so later checks can point at it.</summary>
internal readonly record struct Located<T>(T Value, YamlNode Node);

/// <summary>
/// A typed view of one YAML mapping with a fixed set of keys. Every accessor reports what is wrong
/// (wrong kind, missing, not a number…) at the offending node and returns null, so a caller keeps
/// going and one run finds every problem. Unknown keys are reported once, on construction.
/// </summary>
internal sealed class MappingReader
{
    private readonly Dictionary<string, KeyValuePair<YamlScalarNode, YamlNode>> entries = new(StringComparer.Ordinal);

    private MappingReader(SourceFile file, YamlMappingNode node, string what, IReadOnlyList<string> knownKeys, IReadOnlyDictionary<string, string>? unknownKeyFixes)
    {
        File = file;
        Node = node;
        What = what;
        foreach (var (key, value) in node.Children)
        {
            if (key is not YamlScalarNode { Value: { } name } scalarKey)
            {
                file.Error(key, $"{what} has a key that is {SourceFile.Describe(key)}; keys are plain names",
                    $"use one of: {string.Join(", ", knownKeys)}");
                continue;
            }

            if (!knownKeys.Contains(name, StringComparer.Ordinal))
            {
                // Some keys are wrong for a reason a typo hint would hide (a 'secret' belongs in the environment).
                file.Error(key, $"unknown key '{name}' in {what}",
                    unknownKeyFixes is not null && unknownKeyFixes.TryGetValue(name, out var fix) ? fix : Suggestions.DidYouMean(name, knownKeys, "known keys"));
                continue;
            }

            entries[name] = new(scalarKey, value);
        }
    }

    public SourceFile File { get; }

    public YamlMappingNode Node { get; }

    /// <summary>How errors name this mapping: "the pipeline", "validate.commands[0]".</summary>
    public string What { get; }

    /// <summary>
    /// A reader for <paramref name="node"/>, or null (with an error) when it is not a mapping.
    /// <paramref name="unknownKeyFixes"/> gives the fix for particular unknown keys instead of a "did you mean".
    /// </summary>
    public static MappingReader? Of(SourceFile file, YamlNode node, string what, IReadOnlyList<string> knownKeys, IReadOnlyDictionary<string, string>? unknownKeyFixes = null)
    {
        if (node is YamlMappingNode mapping)
        {
            return new MappingReader(file, mapping, what, knownKeys, unknownKeyFixes);
        }

        file.Error(node, $"{what} must be a mapping of keys to values, got {SourceFile.Describe(node)}",
            $"write it as 'key: value' lines; known keys: {string.Join(", ", knownKeys)}");
        return null;
    }

    /// <summary>The key node for <paramref name="key"/>, or null when absent.</summary>
    public YamlScalarNode? KeyNode(string key) => entries.TryGetValue(key, out var entry) ? entry.Key : null;

    /// <summary>The value node, or null when the key is absent. An explicit empty value is returned as is.</summary>
    public YamlNode? Raw(string key) => entries.TryGetValue(key, out var entry) ? entry.Value : null;

    /// <summary>
    /// The value, treating an empty value like an absent key. A missing required key is reported at the
    /// mapping's start; an empty required value at its key.
    /// </summary>
    public YamlNode? Value(string key, bool required = false, string? example = null)
    {
        if (!entries.TryGetValue(key, out var entry))
        {
            if (required)
            {
                File.Error(Node, $"{What} has no '{key}', which is required", $"add '{key}: {example ?? "…"}'");
            }

            return null;
        }

        if (SourceFile.IsNull(entry.Value))
        {
            if (required)
            {
                File.Error(entry.Key, $"'{key}' in {What} has no value", $"set it, e.g. '{key}: {example ?? "…"}'");
            }

            return null;
        }

        return entry.Value;
    }

    /// <summary>A string value (any scalar, taken as written).</summary>
    public Located<string>? String(string key, bool required = false, string? example = null)
    {
        var node = Value(key, required, example);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode { Value: { } text })
        {
            return new Located<string>(text, node);
        }

        File.Error(node, $"'{key}' in {What} must be a string, got {SourceFile.Describe(node)}", $"write it as '{key}: {example ?? "value"}'");
        return null;
    }

    /// <summary>A boolean, <c>true</c> or <c>false</c>.</summary>
    public bool? Bool(string key)
    {
        var value = String(key, example: "true");
        if (value is null)
        {
            return null;
        }

        switch (value.Value.Value)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                File.Error(value.Value.Node, $"'{key}' in {What} must be true or false, got '{value.Value.Value}'", $"write '{key}: true' or '{key}: false'");
                return null;
        }
    }

    /// <summary>A whole number.</summary>
    public Located<int>? Int(string key, string example)
    {
        var value = String(key, example: example);
        if (value is null)
        {
            return null;
        }

        if (int.TryParse(value.Value.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return new Located<int>(number, value.Value.Node);
        }

        File.Error(value.Value.Node, $"'{key}' in {What} must be a whole number, got '{value.Value.Value}'", $"write e.g. '{key}: {example}'");
        return null;
    }

    /// <summary>A finite decimal number.</summary>
    public Located<double>? Number(string key, string example)
    {
        var value = String(key, example: example);
        if (value is null)
        {
            return null;
        }

        if (double.TryParse(value.Value.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return new Located<double>(number, value.Value.Node);
        }

        File.Error(value.Value.Node, $"'{key}' in {What} must be a number, got '{value.Value.Value}'", $"write e.g. '{key}: {example}'");
        return null;
    }

    /// <summary>A nested mapping with its own keys.</summary>
    public MappingReader? Mapping(string key, IReadOnlyList<string> knownKeys, bool required = false, string? what = null)
    {
        var node = Value(key, required, "{ … }");
        return node is null ? null : Of(File, node, what ?? $"'{key}'", knownKeys);
    }

    /// <summary>A list's items (of any kind), or null.</summary>
    public IReadOnlyList<YamlNode>? List(string key, string itemsAre, bool required = false, string? example = null)
    {
        var node = Value(key, required, example ?? "[ … ]");
        if (node is null)
        {
            return null;
        }

        if (node is YamlSequenceNode sequence)
        {
            return sequence.Children.ToList();
        }

        File.Error(node, $"'{key}' in {What} must be a list of {itemsAre}, got {SourceFile.Describe(node)}",
            $"write it as a list, e.g. '{key}: {example ?? "[a, b]"}' or one '- item' per line");
        return null;
    }

    /// <summary>A list of strings; items of another kind are reported and skipped.</summary>
    public IReadOnlyList<Located<string>>? StringList(string key, bool required = false, string? example = null)
    {
        var items = List(key, "strings", required, example);
        if (items is null)
        {
            return null;
        }

        var result = new List<Located<string>>();
        var ok = true;
        foreach (var item in items)
        {
            if (item is YamlScalarNode { Value: { } text } && !SourceFile.IsNull(item))
            {
                result.Add(new Located<string>(text, item));
                continue;
            }

            ok = false;
            File.Error(item, $"'{key}' in {What} must be a list of strings, got an item that is {SourceFile.Describe(item)}",
                $"write each item as a string, e.g. '{key}: {example ?? "[a, b]"}'");
        }

        return ok ? result : null;
    }

    /// <summary>A mapping of names to strings, in definition order; entries of another kind are reported and skipped.</summary>
    public IReadOnlyList<(YamlScalarNode Key, Located<string>? Value)>? StringMap(string key, bool allowEmptyValues = false, string? example = null)
    {
        var node = Value(key, example: example ?? "{ NAME: value }");
        if (node is null)
        {
            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            File.Error(node, $"'{key}' in {What} must be a mapping of names to strings, got {SourceFile.Describe(node)}",
                $"write it as 'NAME: value' lines under '{key}:', e.g. '{key}: {example ?? "{ NAME: value }"}'");
            return null;
        }

        var result = new List<(YamlScalarNode, Located<string>?)>();
        foreach (var (k, v) in mapping.Children)
        {
            if (k is not YamlScalarNode { Value: { } } scalarKey || SourceFile.IsNull(k))
            {
                File.Error(k, $"'{key}' in {What} has a key that is {SourceFile.Describe(k)}", "use plain names as keys");
                continue;
            }

            if (SourceFile.IsNull(v))
            {
                if (!allowEmptyValues)
                {
                    File.Error(scalarKey, $"'{scalarKey.Value}' in '{key}' has no value", $"give it a value, e.g. '{scalarKey.Value}: \"\"' for an empty string");
                }

                result.Add((scalarKey, null));
                continue;
            }

            if (v is not YamlScalarNode { Value: { } text })
            {
                File.Error(v, $"'{scalarKey.Value}' in '{key}' must be a string, got {SourceFile.Describe(v)}", $"write '{scalarKey.Value}: \"value\"'");
                continue;
            }

            result.Add((scalarKey, new Located<string>(text, v)));
        }

        return result;
    }
}
