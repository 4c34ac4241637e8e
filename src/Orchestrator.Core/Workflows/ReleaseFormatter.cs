using System.Globalization;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Jobs;

namespace Orchestrator.Core.Workflows;

/// <summary>How a release is printed for a cluster.</summary>
public enum ReleaseFormat
{
    /// <summary>The JSON release document.</summary>
    Json,

    /// <summary>A YAML release record.</summary>
    Yaml,

    /// <summary>A kustomization <c>images:</c> entry pinned by <c>digest:</c>.</summary>
    Kustomize,

    /// <summary><c>NAME_IMAGE=…</c> lines for an env file.</summary>
    Env,
}

/// <summary>Renders a <see cref="Release"/> in each <see cref="ReleaseFormat"/>.</summary>
public static class ReleaseFormatter
{
    /// <summary>Parses <c>json</c>, <c>yaml</c>, <c>kustomize</c> or <c>env</c>.</summary>
    /// <exception cref="InputException">Any other value.</exception>
    public static ReleaseFormat ParseFormat(string value) => value.ToLowerInvariant() switch
    {
        "json" => ReleaseFormat.Json,
        "yaml" or "yml" => ReleaseFormat.Yaml,
        "kustomize" => ReleaseFormat.Kustomize,
        "env" => ReleaseFormat.Env,
        _ => throw new InputException($"unknown release format '{value}': use yaml, kustomize, env or json"),
    };

    /// <summary>The content type a format is served with.</summary>
    public static string ContentType(ReleaseFormat format) => format switch
    {
        ReleaseFormat.Json => "application/json",
        ReleaseFormat.Yaml or ReleaseFormat.Kustomize => "application/yaml",
        _ => "text/plain",
    };

    /// <summary>Renders <paramref name="release"/>; every output ends with a newline.</summary>
    public static string Format(Release release, ReleaseFormat format) => format switch
    {
        ReleaseFormat.Json => ResultDocuments.Serialize(ResultDocuments.Release(release), Jobs.Documents.ResultJsonContext.Default.ReleaseDocument, indented: true) + "\n",
        ReleaseFormat.Yaml => Yaml(release),
        ReleaseFormat.Kustomize => Kustomize(release),
        ReleaseFormat.Env => Env(release),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private static string Yaml(Release release)
    {
        var yaml = new StringBuilder();
        yaml.Append("# ").Append(release.Pipeline).Append(" in ").Append(release.Stage).Append(": deploy by digest\n");
        if (!release.Recorded)
        {
            // Served by the registry, found by tag; who released it and when is in another store.
            yaml.Append("# not recorded here: found in the registry by tag; released-at and released-by are in the store that promoted it\n");
        }

        Line(yaml, "pipeline", release.Pipeline);
        Line(yaml, "stage", release.Stage);
        Line(yaml, "image", release.Reference.ToString());
        Line(yaml, "repository", release.Reference.Name);
        Line(yaml, "digest", release.Digest.ToString());
        yaml.Append("tags: [").AppendJoin(", ", release.Tags.Select(Quote)).Append("]\n");
        Line(yaml, "version", release.Version);
        Line(yaml, "base-digest", release.BaseDigest?.ToString());
        Line(yaml, "validated-at", Time(release.ValidatedAt));
        Line(yaml, "released-at", Time(release.ReleasedAt));
        Line(yaml, "released-by", release.ReleasedBy);
        return yaml.ToString();
    }

    private static string Kustomize(Release release)
    {
        // 'name' is how manifests refer to the image; 'newName' and 'digest' pin what the cluster pulls.
        var yaml = new StringBuilder();
        yaml.Append("# kustomization.yaml: ").Append(release.Pipeline).Append(' ').Append(release.Version)
            .Append(" from ").Append(release.Stage).Append(", validated ").Append(Time(release.ValidatedAt) ?? "-").Append('\n');
        yaml.Append("images:\n");
        yaml.Append("  - name: ").Append(Quote(release.Reference.Repository)).Append('\n');
        yaml.Append("    newName: ").Append(Quote(release.Reference.Name)).Append('\n');
        yaml.Append("    digest: ").Append(Quote(release.Digest.ToString())).Append('\n');
        return yaml.ToString();
    }

    private static string Env(Release release)
    {
        var prefix = new string(release.Pipeline.ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        var env = new StringBuilder();
        void Set(string name, string? value) => env.Append(prefix).Append('_').Append(name).Append('=').Append(value ?? string.Empty).Append('\n');
        Set("IMAGE", release.Reference.ToString());
        Set("REPOSITORY", release.Reference.Name);
        Set("DIGEST", release.Digest.ToString());
        Set("TAGS", string.Join(',', release.Tags));
        Set("VERSION", release.Version);
        Set("BASE_DIGEST", release.BaseDigest?.ToString());
        Set("VALIDATED_AT", Time(release.ValidatedAt));
        return env.ToString();
    }

    private static void Line(StringBuilder yaml, string key, string? value) =>
        yaml.Append(key).Append(": ").Append(value is null ? "null" : Quote(value)).Append('\n');

    // A JSON string is a valid YAML double-quoted scalar, escaping included.
    private static string Quote(string value) => JsonText.Quote(value);

    private static string? Time(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
