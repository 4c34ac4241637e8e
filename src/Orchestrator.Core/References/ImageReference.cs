using System.Text.RegularExpressions;

namespace Orchestrator.Core.References;

/// <summary>
/// An image reference, <c>[registry/]repository[:tag][@digest]</c>, following the grammar of the
/// distribution project (github.com/distribution/reference, reference.go):
/// <code>
/// reference   := name [ ":" tag ] [ "@" digest ]
/// name        := [domain '/'] remote-name
/// domain      := host [':' port-number]
/// remote-name := path-component ['/' path-component]*
/// path-component := [a-z0-9]+ ( ( [_.] | __ | [-]+ ) [a-z0-9]+ )*
/// tag         := [\w][\w.-]{0,127}
/// </code>
/// As in the docker CLI, the first component is a registry only when it contains '.' or ':', or is
/// <c>localhost</c>. Unlike the docker CLI, no default registry (docker.io) is ever filled in:
/// Orchestrator never pulls implicitly from a public registry, so <see cref="Registry"/> stays null.
/// </summary>
public sealed partial record ImageReference
{
    /// <summary>The longest repository name, with its registry, that the distribution project accepts.</summary>
    public const int MaxNameLength = 255;

    private ImageReference(string? registry, string repository, string? tag, Digest? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>The registry host and optional port (<c>127.0.0.1:5001</c>), or null when the reference names none.</summary>
    public string? Registry { get; }

    /// <summary>The repository path inside the registry (<c>apps/hello-python</c>).</summary>
    public string Repository { get; }

    /// <summary>The tag, or null.</summary>
    public string? Tag { get; }

    /// <summary>The digest, or null.</summary>
    public Digest? Digest { get; }

    /// <summary><c>registry/repository</c>, or the repository alone when there is no registry.</summary>
    public string Name => Registry is null ? Repository : $"{Registry}/{Repository}";

    /// <summary>Builds a reference from parts, validating each; its <see cref="ToString"/> parses back to an equal reference.</summary>
    /// <exception cref="FormatException">A part breaks the grammar, or a repository given without a registry
    /// starts with a component that would read as one (<c>a.b/c</c>); the message names it.</exception>
    public static ImageReference Create(string? registry, string repository, string? tag = null, Digest? digest = null)
    {
        if (registry is not null && !DomainPattern().IsMatch(registry))
        {
            throw new FormatException($"'{registry}' is not a registry host: expected host[:port], e.g. 127.0.0.1:5001");
        }

        if (!IsValidRepository(repository, out var repositoryError))
        {
            throw new FormatException(repositoryError);
        }

        // Without a registry the text would begin with the repository's first component, and one with a '.'
        // (or localhost) reads back as a registry: the reference printed would name another image.
        var firstComponent = repository.Split('/')[0];
        if (registry is null && repository.Contains('/') && (firstComponent.Contains('.') || firstComponent == "localhost"))
        {
            throw new FormatException($"the repository '{repository}' without a registry would read as repository '{repository[(firstComponent.Length + 1)..]}' in registry '{firstComponent}': give the registry explicitly");
        }

        if (tag is not null && !IsValidTag(tag, out var tagError))
        {
            throw new FormatException(tagError);
        }

        var reference = new ImageReference(registry, repository, tag, digest);
        if (reference.Name.Length > MaxNameLength)
        {
            throw new FormatException($"'{reference.Name}' is {reference.Name.Length} characters long; a repository name with its registry may have at most {MaxNameLength}");
        }

        return reference;
    }

    /// <summary>Parses a reference.</summary>
    /// <exception cref="FormatException">The text breaks the grammar; the message says which part and how.</exception>
    public static ImageReference Parse(string value) =>
        TryParse(value, out var reference, out var error) ? reference : throw new FormatException(error);

    /// <summary>Parses a reference without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "an image reference is required, e.g. 127.0.0.1:5001/apps/hello:1.0";
            return false;
        }

        var rest = value;
        Digest? digest = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Digest.TryParse(rest[(at + 1)..], out digest, out var digestError))
            {
                error = $"'{value}': {digestError}";
                return false;
            }

            rest = rest[..at];
        }

        // The tag separator is the last ':' after the last '/', so a registry port is never taken for a tag.
        string? tag = null;
        var lastSlash = rest.LastIndexOf('/');
        var lastColon = rest.LastIndexOf(':');
        if (lastColon > lastSlash)
        {
            tag = rest[(lastColon + 1)..];
            rest = rest[..lastColon];
            if (!IsValidTag(tag, out var tagError))
            {
                error = $"'{value}': {tagError}";
                return false;
            }
        }

        string? registry = null;
        var firstSlash = rest.IndexOf('/');
        if (firstSlash > 0)
        {
            var first = rest[..firstSlash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper))
            {
                registry = first;
                rest = rest[(firstSlash + 1)..];
                if (!DomainPattern().IsMatch(registry))
                {
                    error = $"'{value}': '{registry}' is not a registry host: expected host[:port], e.g. 127.0.0.1:5001";
                    return false;
                }
            }
        }

        if (!IsValidRepository(rest, out var repositoryError))
        {
            error = $"'{value}': {repositoryError}";
            return false;
        }

        reference = new ImageReference(registry, rest, tag, digest);
        if (reference.Name.Length > MaxNameLength)
        {
            reference = null;
            error = $"'{value}': the name is longer than {MaxNameLength} characters";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>True when <paramref name="repository"/> is a valid remote-name (lower-case path components).</summary>
    public static bool IsValidRepository(string? repository, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(repository))
        {
            error = "a repository name is required, e.g. apps/hello-python";
            return false;
        }

        if (repository.Length > MaxNameLength)
        {
            error = $"the repository name '{repository}' is longer than {MaxNameLength} characters";
            return false;
        }

        foreach (var component in repository.Split('/'))
        {
            if (!PathComponentPattern().IsMatch(component))
            {
                error = component.Length == 0
                    ? $"the repository name '{repository}' has an empty path component: remove the extra '/'"
                    : component.Any(char.IsUpper)
                        ? $"the repository name '{repository}' has upper-case letters in '{component}': repository names are lower-case"
                        : $"the repository name '{repository}' has an invalid component '{component}': use lower-case letters and digits, separated by '.', '_', '__' or '-'";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>True when <paramref name="tag"/> matches <c>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}</c> (the grammar's <c>\w</c> is ASCII).</summary>
    public static bool IsValidTag(string? tag, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(tag))
        {
            error = "a tag is required after ':'";
            return false;
        }

        if (!TagPattern().IsMatch(tag))
        {
            error = tag.Length > 128
                ? $"the tag '{tag}' is {tag.Length} characters long; a tag has at most 128"
                : $"the tag '{tag}' is invalid: a tag starts with a letter, digit or '_' and continues with letters, digits, '_', '.' or '-'";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>This reference with another tag (the digest is dropped).</summary>
    public ImageReference WithTag(string tag) => Create(Registry, Repository, tag);

    /// <summary>This reference pinned to <paramref name="digest"/> (the tag is dropped).</summary>
    public ImageReference WithDigest(Digest digest) => new(Registry, Repository, null, digest);

    /// <summary>This repository in another registry, keeping tag and digest.</summary>
    public ImageReference InRegistry(string registry) => Create(registry, Repository, Tag, Digest);

    /// <summary>The canonical text: <c>registry/repository[:tag][@digest]</c>.</summary>
    public override string ToString() =>
        Name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PathComponentPattern();

    // ASCII only: .NET's \w would admit any Unicode letter, and \z, unlike $, refuses a trailing newline.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex DomainPattern();
}
