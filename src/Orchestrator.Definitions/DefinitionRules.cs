using System.Text.RegularExpressions;

namespace Orchestrator.Definitions;

/// <summary>The name and version grammars definitions are checked against.</summary>
internal static partial class DefinitionRules
{
    /// <summary>Pipeline and base names: <c>[a-z0-9][a-z0-9._-]*</c>.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant)]
    public static partial Regex Name();

    /// <summary>Debian package names (Debian Policy 5.6.1).</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+$", RegexOptions.CultureInvariant)]
    public static partial Regex PackageName();

    /// <summary>Debian versions (Debian Policy 5.6.12): <c>[epoch:]upstream[-revision]</c>, exact, no wildcards or ranges.</summary>
    [GeneratedRegex("^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*(-[A-Za-z0-9.+~]+)?$", RegexOptions.CultureInvariant)]
    public static partial Regex DebianVersion();

    /// <summary>Archive components: main, contrib, non-free, non-free-firmware.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    public static partial Regex Component();

    /// <summary>Environment variable names.</summary>
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    public static partial Regex EnvName();

    /// <summary>
    /// Names of environment variables that hold secrets (<c>username-env</c>, <c>password-env</c>, <c>secret-env</c>):
    /// upper case by convention, which also tells a pasted secret (<c>S3cr3tPW7788</c>) from a name.
    /// </summary>
    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$", RegexOptions.CultureInvariant)]
    public static partial Regex SecretEnvName();

    /// <summary>
    /// True when <paramref name="value"/> can be the name of a variable holding a secret: an upper-case
    /// name that does not read like a secret itself (<see cref="LooksLikeSecret"/>).
    /// </summary>
    public static bool IsSecretEnvReference(string value) => SecretEnvName().IsMatch(value) && !LooksLikeSecret(value);

    /// <summary>
    /// True for what reads like a generated token rather than a variable name: long, with letters and digits,
    /// and either lower-case letters or punctuation (base64, hex, "ghp_…") that variable names do not have, or
    /// no '_' at all over 16 characters (an upper-case key such as "AKIAIOSFODNN7EXAMPLE"), where names have words.
    /// A false positive costs a rename; a false negative echoes a secret into CI logs.
    /// </summary>
    public static bool LooksLikeSecret(string value) =>
        value.Any(char.IsAsciiDigit)
        && value.Any(char.IsAsciiLetter)
        && ((value.Length >= 20 && value.Any(c => char.IsAsciiLetterLower(c) || !(char.IsAsciiLetterOrDigit(c) || c == '_')))
            || (value.Length >= 16 && !value.Contains('_')));

    /// <summary>Suites and codenames: bookworm, bookworm-backports, stable.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*$", RegexOptions.CultureInvariant)]
    public static partial Regex Suite();

    /// <summary>True for an absolute http:// or https:// URL.</summary>
    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;
}
