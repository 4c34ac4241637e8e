using System.Text;
using System.Text.Json;
using CsCheck;

namespace Orchestrator.Definitions.Tests.Properties;

/// <summary>A pipeline generated from the definition rules, with what it must load as.</summary>
internal sealed record GeneratedPipeline(
    string Name, string Version, string Repository, IReadOnlyList<(string Name, string Version)> Apt,
    IReadOnlyList<string> RenderedTags, IReadOnlyList<(string Name, string Value)> Env, string Text);

/// <summary>A requirements line generated from the hash-checking grammar, with what it must read as.</summary>
internal sealed record GeneratedRequirement(string Name, string Version, IReadOnlyList<string> Hashes, string Line);

/// <summary>
/// CsCheck generators of definitions: valid ones built from the rules the readers document (pipeline, base image,
/// orchestrator.yaml, requirements lines), and mutations of them at the character, line and byte level.
/// </summary>
internal static class DefinitionGenerators
{
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";

    /// <summary>Characters and snippets that mean something to YAML (or to a reader), and some that must be refused.</summary>
    private static readonly string[] Snippets =
    [
        ":", ": ", "-", "- ", "#", "{", "}", "[", "]", ",", "'", "\"", "&a ", "*a", "!!binary ", "!!int ", "<<: *a\n", "? ", "|\n", ">\n",
        "%YAML 1.2\n---\n", "---\n", "...\n", "\t", "\n", "  ", "\r\n", "\0", "\ufeff", "\u2028", "é", "\U0001F600", "~", "null", "1e999",
        "0x1F", "\"\\u00", "key: value\n", "name: other\n", "version:\n", "tags: []\n", "{version}", "{nope}", "+", "/", "..", "\\",
    ];

    public static readonly Gen<string> PipelineName =
        Gen.Select(Gen.Char[Lower + Digits], Gen.String[Gen.Char[Lower + Digits + "._-"], 0, 12], (first, rest) => first + rest)
            .Where(n => !n.EndsWith(".lock", StringComparison.Ordinal));

    // version: digits and dots with an optional -suffix, so "{version}" renders to a valid tag ('+' would not).
    public static readonly Gen<string> Version = Gen.Select(
        Gen.Int[0, 20].Array[1, 3], Gen.Frequency((3, Gen.Const("")), (1, Gen.String[Gen.Char[Lower + Digits], 1, 5].Select(s => "-" + s))),
        (parts, suffix) => string.Join('.', parts) + suffix);

    private static readonly Gen<string> PathComponent = Gen.Select(
        Gen.String[Gen.Char[Lower + Digits], 1, 6],
        Gen.Select(Gen.OneOf(Gen.Const("."), Gen.Const("_"), Gen.Const("__"), Gen.Const("-"), Gen.Const("--")), Gen.String[Gen.Char[Lower + Digits], 1, 6], (s, a) => s + a).Array[0, 2],
        (first, rest) => first + string.Concat(rest));

    public static readonly Gen<string> Repository = PathComponent.Array[1, 3].Select(parts => string.Join('/', parts));

    // Debian: name ^[a-z0-9][a-z0-9+.-]+$, version [epoch:]upstream[-revision].
    private static readonly Gen<string> DebianPackage =
        Gen.Select(Gen.Char[Lower + Digits], Gen.String[Gen.Char[Lower + Digits + "+.-"], 1, 12], (a, rest) => a + rest);

    private static readonly Gen<string> DebianVersion = Gen.Select(
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Int[0, 9].Select(e => e + ":"))),
        Gen.Char[Digits], Gen.String[Gen.Char[Lower + Digits + ".+~"], 0, 10],
        Gen.Frequency((1, Gen.Const("")), (2, Gen.String[Gen.Char[Lower + Digits + ".+~"], 1, 8].Select(r => "-" + r))),
        (epoch, first, upstream, revision) => epoch + first + upstream + revision);

    private static readonly Gen<string> LiteralTag = Gen.Select(
        Gen.Char[Lower + "_"], Gen.String[Gen.Char[Lower + Digits + "_.-"], 0, 20], (first, rest) => first + rest);

    private static readonly Gen<string> EnvName = Gen.Select(
        Gen.Char[Lower.ToUpperInvariant() + "_"], Gen.String[Gen.Char[Lower.ToUpperInvariant() + Digits + "_"], 0, 10], (a, rest) => a + rest);

    // Values of any printable text, written as JSON strings (a JSON string is a YAML double-quoted scalar).
    private static readonly Gen<string> EnvValue = Gen.String[Gen.Char[" !#$%&'()*+,-./0123456789:;<=>?@AZaz[]^_`{|}~\"\\é中"], 0, 20];

    public static readonly Gen<GeneratedPipeline> ValidPipeline = Gen.Select(
        PipelineName, Version, Gen.OneOf(Gen.Const("debian-bookworm"), Gen.Const("debian-bookworm/slim"), Gen.Const("debian-bookworm/full")), Repository,
        Gen.Select(DebianPackage, DebianVersion).Array[0, 4],
        Gen.Select(LiteralTag.Array[0, 3], Gen.Bool, Gen.Bool),
        Gen.Select(EnvName, EnvValue).Array[0, 3])
        .Select(p =>
        {
            var (name, version, baseRef, repository, packages, (literalTags, withVersion, withNameVersion), env) = p;
            var apt = packages.DistinctBy(a => a.Item1).ToList();
            var vars = env.DistinctBy(e => e.Item1).ToList();
            var templates = new List<string>();
            if (withVersion || (!withNameVersion && literalTags.Length == 0))
            {
                templates.Add("{version}");
            }

            if (withNameVersion)
            {
                templates.Add("{name}-{version}");
            }

            // Literal tags start with a letter or '_', so none equals a rendered "{version}".
            templates.AddRange(literalTags.Distinct(StringComparer.Ordinal).Where(t => t != $"{name}-{version}"));
            var text = new StringBuilder()
                .Append("name: ").Append(name).Append('\n')
                .Append("version: \"").Append(version).Append("\"\n")
                .Append("base: ").Append(baseRef).Append('\n')
                .Append("repository: ").Append(repository).Append('\n');
            if (apt.Count > 0)
            {
                text.Append("packages:\n  apt:\n");
                foreach (var (package, packageVersion) in apt)
                {
                    text.Append("    ").Append(package).Append(": \"").Append(packageVersion).Append("\"\n");
                }
            }

            if (vars.Count > 0)
            {
                text.Append("env:\n");
                foreach (var (key, value) in vars)
                {
                    text.Append("  ").Append(key).Append(": ").Append(Json(value)).Append('\n');
                }
            }

            text.Append("tags: [").Append(string.Join(", ", templates.Select(Json))).Append("]\n");
            var rendered = templates.Select(t => t.Replace("{name}", name, StringComparison.Ordinal).Replace("{version}", version, StringComparison.Ordinal)).ToList();
            return new GeneratedPipeline(name, version, repository, apt.Select(a => (a.Item1, a.Item2)).ToList(), rendered, vars.Select(v => (v.Item1, v.Item2)).ToList(), text.ToString());
        });

    public static readonly Gen<string> ValidBaseImage = Gen.Select(
        Repository, Gen.Bool, Gen.Bool, Gen.OneOf(Gen.Const("bookworm"), Gen.Const("trixie"), Gen.Const("bookworm-backports")),
        (repository, withSlim, components, suite) =>
            $"repository: {repository}\ndefault-variant: full\nsuite: {suite}\n"
            + (components ? "components: [main, contrib]\n" : string.Empty)
            + "variants:\n  full: {}\n"
            + (withSlim ? "  slim:\n    debootstrap-variant: minbase\n    slim: true\n" : string.Empty));

    private static readonly Gen<string> StageName = Gen.Select(Gen.Char[Lower], Gen.String[Gen.Char[Lower + Digits + "-"], 0, 8], (a, rest) => a + rest)
        .Where(s => !s.EndsWith('-'));

    // Loopback over plain http, or https anywhere (credentials only there: plain http carries them in clear).
    private static readonly Gen<(string Url, bool Secure)> RegistryUrl = Gen.OneOf(
        Gen.Int[1, 65535].Select(port => ($"http://127.0.0.1:{port}", false)),
        Gen.Int[1, 65535].Select(port => ($"http://localhost:{port}", false)),
        Gen.Select(PathComponent.Where(c => !c.Contains('_')), Gen.Int[1, 65535], (host, port) => ($"https://{host.Replace(".", "-", StringComparison.Ordinal)}.example.com:{port}", true)));

    public static readonly Gen<string> ValidConfig = Gen.Select(StageName.Array[1, 4], RegistryUrl.Array[4, 4], Gen.Bool)
        .Select(p =>
        {
            var (names, urls, credentials) = p;
            var stages = names.Distinct(StringComparer.Ordinal).ToList();
            var text = new StringBuilder().Append("stages: [").Append(string.Join(", ", stages)).Append("]\nregistries:\n");
            for (var i = 0; i < stages.Count; i++)
            {
                text.Append("  ").Append(stages[i]).Append(": { url: ").Append(urls[i].Url);
                if (credentials && urls[i].Secure)
                {
                    text.Append(", username-env: REG_USER_").Append(i).Append(", password-env: REG_PASSWORD_").Append(i);
                }

                text.Append(" }\n");
            }

            return text.ToString();
        });

    private static readonly Gen<string> PythonName = Gen.Select(
        Gen.Char[Lower + "ABC" + Digits], Gen.String[Gen.Char[Lower + "XYZ" + Digits + "._-"], 0, 10], Gen.Char[Lower + Digits],
        (a, middle, z) => a + middle + z);

    // PEP 440 public version, as the reader takes it: N(.N)*[{a|b|rc}N][.postN][.devN][+local]
    private static readonly Gen<string> PythonVersion = Gen.Select(
        Gen.Int[0, 30].Array[1, 4],
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Select(Gen.OneOf(Gen.Const("a"), Gen.Const("b"), Gen.Const("rc")), Gen.Int[0, 9], (k, n) => k + n))),
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Int[0, 9].Select(n => ".post" + n))),
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Int[0, 9].Select(n => ".dev" + n))),
        Gen.Frequency((3, Gen.Const("")), (1, Gen.String[Gen.Char[Lower + Digits + "."], 1, 6].Where(l => !l.StartsWith('.') && !l.EndsWith('.')).Select(l => "+" + l))),
        (release, pre, post, dev, local) => string.Join('.', release) + pre + post + dev + local);

    private static readonly Gen<string> Sha256Hex = Gen.String[Gen.Char["0123456789abcdef"], 64, 64];

    public static readonly Gen<GeneratedRequirement> ValidRequirement = Gen.Select(
        PythonName, PythonVersion, Sha256Hex.Array[1, 3],
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Const("[fast,cli]"))),
        Gen.Frequency((3, Gen.Const("")), (1, Gen.Const(" ; python_version >= \"3.9\""))),
        Gen.Bool, Gen.Bool)
        .Select(p =>
        {
            var (name, version, hashes, extras, marker, spaced, continued) = p;
            var options = string.Join(continued ? " \\\n    " : " ", hashes.Select((h, i) => i % 2 == 0 ? $"--hash=sha256:{h}" : $"--hash sha256:{h}"));
            var line = $"{name}{extras}{(spaced ? " == " : "==")}{version}{marker} {options}";
            return new GeneratedRequirement(name, version, hashes, line);
        });

    /// <summary>A valid document with 1-5 edits; some edits then break its UTF-8 bytes.</summary>
    public static Gen<byte[]> Mutated(Gen<string> valid) =>
        Gen.Select(valid, Gen.Select(Gen.Int[0, 9], Gen.Int[0, 100_000], Gen.Int[0, Snippets.Length - 1]).Array[1, 5], Gen.Int[0, 9], Gen.Int[0, 100_000])
            .Select(p =>
            {
                var (text, edits, byteEdit, bytePosition) = p;
                foreach (var (kind, position, snippet) in edits)
                {
                    text = Apply(text, kind, position, Snippets[snippet]);
                }

                var bytes = Encoding.UTF8.GetBytes(text);
                if (byteEdit == 0 && bytes.Length > 0)
                {
                    // A byte that is not UTF-8 (a lone continuation or a truncated sequence).
                    bytes[bytePosition % bytes.Length] = (byte)(bytePosition % 2 == 0 ? 0xFF : 0xC3);
                }

                return bytes;
            });

    private static string Apply(string text, int kind, int position, string snippet)
    {
        var at = position % (text.Length + 1);
        var lines = text.Split('\n').ToList();
        var line = position % lines.Count;
        switch (kind)
        {
            case 0 or 1:
                return text.Insert(at, snippet);
            case 2 when text.Length > 0:
                return text.Remove(Math.Min(at, text.Length - 1), 1);
            case 3 when text.Length > 0:
                return text.Remove(Math.Min(at, text.Length - 1), 1).Insert(Math.Min(at, text.Length - 1), snippet);
            case 4:
                lines.Insert(line, lines[line]);
                return string.Join('\n', lines);
            case 5:
                lines.RemoveAt(line);
                return string.Join('\n', lines);
            case 6:
                var other = (position / 7) % lines.Count;
                (lines[line], lines[other]) = (lines[other], lines[line]);
                return string.Join('\n', lines);
            case 7:
                lines[line] = (position % 3) switch { 0 => "  " + lines[line], 1 => "\t" + lines[line], _ => lines[line].TrimStart() };
                return string.Join('\n', lines);
            case 8:
                return text[..at];
            default:
                return text.Insert(at, snippet + snippet);
        }
    }

    private static string Json(string value) => JsonSerializer.Serialize(value);
}
