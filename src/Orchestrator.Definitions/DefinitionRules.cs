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

    /// <summary>Suites and codenames: bookworm, bookworm-backports, stable.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9.-]*$", RegexOptions.CultureInvariant)]
    public static partial Regex Suite();

    /// <summary>True for an absolute http:// or https:// URL.</summary>
    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;
}
