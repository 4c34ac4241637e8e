using CsCheck;
using Orchestrator.Core.References;
using Orchestrator.Tests.Properties;

namespace Orchestrator.Core.Tests.References;

/// <summary>
/// Property tests of <see cref="ImageReference"/> and <see cref="Digest"/>: every text the distribution
/// reference grammar (github.com/distribution/reference, reference.go) allows is accepted and prints back
/// unchanged; every other text, including mutations of valid ones, is accepted-and-round-trips or refused with
/// the parsers' own <see cref="FormatException"/>, never another exception. Seeded, a few thousand values each.
/// </summary>
public sealed class ReferencePropertyTests
{
    private const int Iterations = 3000;

    private static readonly Gen<string> Alphanumerics = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"], 1, 6];

    // separator := [_.] | __ | [-]+
    private static readonly Gen<string> Separator = Gen.OneOf(Gen.Const("."), Gen.Const("_"), Gen.Const("__"), Gen.String[Gen.Char['-', '-'], 1, 3]);

    // path-component := alpha-numeric (separator alpha-numeric)*
    private static readonly Gen<string> PathComponent =
        Gen.Select(Alphanumerics, Gen.Select(Separator, Alphanumerics, (s, a) => s + a).Array[0, 2], (first, rest) => first + string.Concat(rest));

    // domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
    private static readonly Gen<string> DomainComponent = Gen.OneOf(
        Gen.Char["abcXYZ019"].Select(c => c.ToString()),
        Gen.Select(Gen.Char["aZ0"], Gen.String[Gen.Char["abc-XYZ019"], 0, 5], Gen.Char["bY9"], (a, middle, b) => a + middle + b));

    // domain := host [':' port-number]; host := domain-name | '[' IPv6 ']'. As in the docker CLI, a first
    // component is a registry only with a '.' or ':' or as localhost, so every generated one has one of those.
    private static readonly Gen<string> Domain = Gen.OneOf(
        Gen.Const("127.0.0.1:5001"),
        Gen.Const("localhost"),
        Gen.Select(Gen.Const("localhost:"), Gen.Int[1, 65535], (h, p) => h + p),
        Gen.Const("[::1]:5000"),
        Gen.Select(DomainComponent, DomainComponent.Array[1, 3], (first, rest) => first + "." + string.Join('.', rest)),
        Gen.Select(DomainComponent, Gen.Int[0, 99999], (host, port) => $"{host}:{port}"));

    // remote-name := path-component ('/' path-component)*. Without a registry, the first component must not
    // read as one (no '.', not localhost), or the text means a registry: that is the grammar, not a refusal.
    private static readonly Gen<string> RemoteName = PathComponent.Array[1, 4].Select(parts => string.Join('/', parts));

    // tag := [\w][\w.-]{0,127}, \w being ASCII [A-Za-z0-9_]
    private static readonly Gen<string> Tag = Gen.Select(
        Gen.Char["aZ9_"], Gen.String[Gen.Char["abcXYZ0189_.-"], 0, 127], (first, rest) => first + rest);

    private static readonly Gen<Digest> ValidDigest = Gen.OneOf(
        Gen.String[Gen.Char["0123456789abcdef"], 64, 64].Select(hex => Digest.Parse("sha256:" + hex)),
        Gen.String[Gen.Char["0123456789abcdef"], 128, 128].Select(hex => Digest.Parse("sha512:" + hex)));

    /// <summary>Texts in the grammar: [domain '/'] remote-name [':' tag] ['@' digest], name at most 255 characters.</summary>
    private static readonly Gen<string> ValidReference = Gen.Select(
            Gen.Frequency((2, Domain.Select(d => (string?)d)), (1, Gen.Const((string?)null))),
            RemoteName,
            Gen.Frequency((2, Tag.Select(t => (string?)t)), (1, Gen.Const((string?)null))),
            Gen.Frequency((1, ValidDigest.Select(d => (Digest?)d)), (1, Gen.Const((Digest?)null))))
        .Where(p => p.Item1 is not null || (!p.Item2.Split('/')[0].Contains('.') && p.Item2.Split('/')[0] != "localhost"))
        .Where(p => ((p.Item1 is null ? string.Empty : p.Item1 + "/") + p.Item2).Length <= ImageReference.MaxNameLength)
        .Select(p => (p.Item1 is null ? string.Empty : p.Item1 + "/") + p.Item2 + (p.Item3 is null ? string.Empty : ":" + p.Item3) + (p.Item4 is null ? string.Empty : "@" + p.Item4));

    /// <summary>Characters that matter to the grammar, and some it must refuse (upper case, space, control, non-ASCII).</summary>
    private const string Interesting = "/:@._-aZ09 \t\n\0é٣ſK\u00a0[]";

    /// <summary>A valid reference with 1-4 edits: a character inserted, deleted or replaced, a part doubled or cut.</summary>
    private static readonly Gen<string> MutatedReference = Gen.Select(ValidReference, Mutations(), (text, edits) => Apply(text, edits));

    /// <summary>Any short text over the interesting characters and the whole BMP.</summary>
    private static readonly Gen<string> AnyText = Gen.OneOf(
        Gen.String[Gen.Char[Interesting], 0, 40],
        Gen.String[Gen.Char, 0, 40],
        MutatedReference);

    [Fact]
    public void TryParse_TextInTheDistributionGrammar_IsAcceptedAndPrintsBackUnchanged()
    {
        SeededSample.Run(ValidReference, text =>
        {
            // Given a text the grammar allows
            // When it is parsed
            var accepted = ImageReference.TryParse(text, out var reference, out var error);

            // Then it is accepted, prints back as the same text, and that text parses to an equal reference
            Assert.True(accepted, error);
            Assert.Equal(text, reference!.ToString());
            Assert.Equal(reference, ImageReference.Parse(reference.ToString()));
        }, Iterations, seed: 20261203);
    }

    [Fact]
    public void Parse_MutatedOrArbitraryText_AcceptsAndRoundTripsOrThrowsOnlyFormatException()
    {
        SeededSample.Run(AnyText, text =>
        {
            // Given any text: a mutated valid reference, grammar characters, or arbitrary characters
            // When it is parsed both ways
            var accepted = ImageReference.TryParse(text, out var reference, out var error);
            var thrown = Record.Exception(() => ImageReference.Parse(text));

            // Then TryParse never throws and agrees with Parse; an accepted text round-trips, a refused one
            // raises only FormatException, whose message is TryParse's error
            if (accepted)
            {
                Assert.Null(thrown);
                Assert.Equal(reference, ImageReference.Parse(reference!.ToString()));
                Assert.Equal(reference!.ToString(), ImageReference.Parse(reference.ToString()).ToString());
            }
            else
            {
                var format = Assert.IsType<FormatException>(thrown);
                Assert.Equal(error, format.Message);
                Assert.False(string.IsNullOrWhiteSpace(error));
            }
        }, Iterations, seed: 1103);
    }

    [Fact]
    public void Create_PartsFromTheGrammar_BuildsAReferenceWhoseTextParsesBackEqual()
    {
        var parts = Gen.Select(
            Gen.Frequency((2, Domain.Select(d => (string?)d)), (1, Gen.Const((string?)null))),
            RemoteName,
            Gen.Frequency((1, Tag.Select(t => (string?)t)), (1, Gen.Const((string?)null))),
            Gen.Frequency((1, ValidDigest.Select(d => (Digest?)d)), (1, Gen.Const((Digest?)null))));
        SeededSample.Run(parts, p =>
        {
            // Given a registry (or none), a repository, a tag and a digest, each valid on its own
            var (registry, repository, tag, digest) = p;

            // When a reference is built from them
            ImageReference built;
            try
            {
                built = ImageReference.Create(registry, repository, tag, digest);
            }
            catch (FormatException)
            {
                // Then a refusal is a FormatException (a name over 255 characters, or a repository whose first
                // component would read as a registry when none is given) …
                Assert.True(
                    (registry is null ? 0 : registry.Length + 1) + repository.Length > ImageReference.MaxNameLength
                    || (registry is null && repository.Contains('/') && LooksLikeRegistry(repository.Split('/')[0])),
                    $"Create refused valid parts {registry}/{repository}:{tag}@{digest}");
                return;
            }

            // … and a built reference's text means the same reference again
            Assert.Equal(built, ImageReference.Parse(built.ToString()));
        }, Iterations, seed: 42);
    }

    [Fact]
    public void DigestTryParse_RegisteredAlgorithmAndLowerHex_IsAcceptedAndPrintsBackUnchanged()
    {
        SeededSample.Run(ValidDigest.Select(d => d.ToString()), text =>
        {
            // Given sha256:<64 hex> or sha512:<128 hex>, lower case
            // When parsed, Then accepted, and printed back as the same text
            Assert.True(Digest.TryParse(text, out var digest, out var error), error);
            Assert.Equal(text, digest.ToString());
            Assert.Equal(text.Length - text.IndexOf(':') - 1, digest.Encoded.Length);
        }, Iterations, seed: 7);
    }

    [Fact]
    public void DigestParse_MutatedOrArbitraryText_AcceptsOnlyWellFormedAndOtherwiseThrowsFormatException()
    {
        var texts = Gen.OneOf(
            Gen.Select(ValidDigest.Select(d => d.ToString()), Mutations(), (text, edits) => Apply(text, edits)),
            Gen.String[Gen.Char["sha256:0123456789abcdefABCDEF \n\0é"], 0, 140],
            Gen.String[Gen.Char, 0, 80]);
        SeededSample.Run(texts, text =>
        {
            // Given a mutated digest or any text
            // When it is parsed both ways
            var accepted = Digest.TryParse(text, out var digest, out var error);
            var thrown = Record.Exception(() => Digest.Parse(text));

            // Then what is accepted is exactly the grammar (and prints back unchanged); the rest is a FormatException
            var wellFormed = System.Text.RegularExpressions.Regex.IsMatch(text, "^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})\\z");
            Assert.Equal(wellFormed, accepted);
            if (accepted)
            {
                Assert.Null(thrown);
                Assert.Equal(text, digest!.ToString());
            }
            else
            {
                Assert.Equal(error, Assert.IsType<FormatException>(thrown).Message);
            }
        }, Iterations, seed: 99);
    }

    [Fact]
    public void IsValidTag_AnyText_AcceptsExactlyTheGrammarsTags()
    {
        var texts = Gen.OneOf(Tag, Gen.Select(Tag, Mutations(), (t, edits) => Apply(t, edits)), Gen.String[Gen.Char, 0, 130]);
        SeededSample.Run(texts, text =>
        {
            // Given a tag, a mutated tag or any text
            // When it is checked, Then it is valid exactly when it matches [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
            var expected = System.Text.RegularExpressions.Regex.IsMatch(text, "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\\z");
            Assert.Equal(expected, ImageReference.IsValidTag(text, out var error));
            Assert.Equal(expected, error is null);
        }, Iterations, seed: 128);
    }

    private static bool LooksLikeRegistry(string firstComponent) =>
        firstComponent.Contains('.') || firstComponent.Contains(':') || firstComponent == "localhost";

    /// <summary>Edits as (kind, position, character); positions are taken modulo the text's length when applied.</summary>
    private static Gen<(int Kind, int Position, char Character)[]> Mutations() =>
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 1000], Gen.Char[Interesting]).Array[1, 4];

    private static string Apply(string text, (int Kind, int Position, char Character)[] edits)
    {
        foreach (var (kind, position, character) in edits)
        {
            var at = text.Length == 0 ? 0 : position % (text.Length + 1);
            text = kind switch
            {
                0 => text.Insert(at, character.ToString()),
                1 when text.Length > 0 => text.Remove(Math.Min(at, text.Length - 1), 1),
                2 when text.Length > 0 => text.Remove(Math.Min(at, text.Length - 1), 1).Insert(Math.Min(at, text.Length - 1), character.ToString()),
                3 => text[..at] + text[at..] + text[at..],
                _ => text[..at],
            };
        }

        return text;
    }
}
