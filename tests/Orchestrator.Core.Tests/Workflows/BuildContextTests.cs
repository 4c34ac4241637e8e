using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.References;
using Orchestrator.Core.Tests.Fakes;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class BuildContextTests : IDisposable
{
    private static readonly Digest BaseDigest = Digest.Sha256Of("base"u8);
    private static readonly ImageReference BaseByDigest = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", digest: BaseDigest);

    private readonly WorkflowHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void CreateDockerfile_BaseByDigest_FromNamesDigestNeverTag()
    {
        // Given a base reference pinned by digest
        var pipeline = _harness.Pipeline();

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest));

        // Then FROM names registry/repo@digest, and no tag at all
        var from = Assert.Single(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.Equal($"FROM 127.0.0.1:5001/base/debian-bookworm@{BaseDigest}", from);
        Assert.DoesNotContain(":slim", from, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateDockerfile_BaseWithTagAndDigest_FromDropsTheTag()
    {
        // Given a base reference that carries a tag and a digest
        var both = ImageReference.Parse($"127.0.0.1:5001/base/debian-bookworm:slim@{BaseDigest}");

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(_harness.Pipeline(), both));

        // Then only the digest pins the base: a moving tag never reaches the engine
        Assert.Contains($"FROM 127.0.0.1:5001/base/debian-bookworm@{BaseDigest}", lines);
    }

    [Fact]
    public void CreateDockerfile_BaseWithoutDigest_ThrowsArgumentException()
    {
        // Given a base referenced by tag only
        var byTag = ImageReference.Create("127.0.0.1:5001", "base/debian-bookworm", "slim");

        // When / Then generating refuses it
        var error = Assert.Throws<ArgumentException>(() => BuildContext.CreateDockerfile(_harness.Pipeline(), byTag));
        Assert.Equal("baseReference", error.ParamName);
    }

    [Fact]
    public void CreateDockerfile_PinnedPackages_OneRunWithEveryPackageQuotedAndListsRemoved()
    {
        // Given packages, one of them with characters the shell would interpret
        var pipeline = _harness.Pipeline() with
        {
            AptPackages = [new AptPackage("python3", "3.11.2-1+b1"), new AptPackage("curl", "7.88.1-10+deb12u5"), new AptPackage("odd", "1:2.0~rc1'x")],
        };

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest));

        // Then exactly one RUN installs every name=version, each single-quoted, and removes the apt lists in the same RUN
        var run = Assert.Single(lines, l => l.StartsWith("RUN ", StringComparison.Ordinal));
        Assert.Contains("apt-get install -y --no-install-recommends 'python3=3.11.2-1+b1' 'curl=7.88.1-10+deb12u5' 'odd=1:2.0~rc1'\\''x'", run, StringComparison.Ordinal);
        Assert.Contains("apt-get update", run, StringComparison.Ordinal);
        Assert.Contains("rm -rf /var/lib/apt/lists/*", run, StringComparison.Ordinal);
        Assert.True(run.IndexOf("apt-get install", StringComparison.Ordinal) < run.IndexOf("rm -rf /var/lib/apt/lists/*", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateDockerfile_NoPackages_HasNoRun()
    {
        // Given a pipeline without packages
        var pipeline = _harness.Pipeline();

        // When the Dockerfile is generated
        var dockerfile = BuildContext.CreateDockerfile(pipeline, BaseByDigest);

        // Then nothing runs at build time
        Assert.DoesNotContain(Lines(dockerfile), l => l.StartsWith("RUN", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateDockerfile_Files_OneJsonCopyPerFileInOrder()
    {
        // Given three files, one destination with a space (quotes and $ are covered by the engine word-rule tests)
        var pipeline = _harness.Pipeline() with
        {
            Files = [new FileCopy("/src/a", "/app/a.py"), new FileCopy("/src/b", "/etc/my app/b.conf", 420), new FileCopy("/src/c", "/usr/local/bin/c", 493)],
        };

        // When the Dockerfile is generated
        var copies = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)).ToList();

        // Then each file is COPY ["files/N", "destination"] in definition order, in JSON form
        Assert.Equal(3, copies.Count);
        var parsed = copies.Select(c => JsonSerializer.Deserialize<string[]>(c["COPY ".Length..])!).ToList();
        Assert.Equal(["files/0", "/app/a.py"], parsed[0]);
        Assert.Equal(["files/1", "/etc/my app/b.conf"], parsed[1]);
        Assert.Equal(["files/2", "/usr/local/bin/c"], parsed[2]);
    }

    [Fact]
    public void CreateDockerfile_Env_OneDoubleQuotedEnvPerVariableInDefinitionOrder()
    {
        // Given two env variables
        var pipeline = _harness.Pipeline() with { Env = [new("GREETING", "hello world"), new("PLAIN", "1")] };

        // When the Dockerfile is generated
        var envs = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)).Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)).ToList();

        // Then each is ENV KEY="value", in definition order, so a space cannot split the value
        Assert.Equal(["ENV GREETING=\"hello world\"", "ENV PLAIN=\"1\""], envs);
    }

    /// <summary>
    /// The engine does not read ENV values as JSON: it reads a double-quoted shell word, where only
    /// <c>\"</c>, <c>\$</c> and <c>\\</c> are escapes, other backslashes stay, and <c>$NAME</c> is
    /// expanded (moby buildkit frontend/dockerfile/shell, processDoubleQuote). Witnessed on the
    /// engine here: <c>ENV A="it\u0027s $HOME"</c> gives <c>A=it\u0027s </c>, so JSON quoting (which
    /// System.Text.Json also applies to <c>"</c>, <c>'</c>, <c>&lt;</c>, <c>&amp;</c>, <c>+</c> and
    /// non-ASCII letters) would corrupt these values.
    /// </summary>
    [Theory]
    [InlineData("say \"hi\" to $USER \\ C:\\path")]
    [InlineData("say \"hi\" \\ back")]
    [InlineData("costs $HOME dollars")]
    [InlineData("it's")]
    [InlineData("a<b>&c+d")]
    [InlineData("café")]
    public void CreateDockerfile_EnvValue_SurvivesTheEnginesDoubleQuoteRules(string value)
    {
        // Given an env value
        var pipeline = _harness.Pipeline() with { Env = [new("VALUE", value)] };

        // When the Dockerfile is generated and its ENV word is read as the engine reads it
        var env = Assert.Single(Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)), l => l.StartsWith("ENV ", StringComparison.Ordinal));
        var word = env["ENV VALUE=".Length..];

        // Then the image's environment gets exactly the value
        Assert.StartsWith("\"", word, StringComparison.Ordinal);
        Assert.Equal(value, ReadWordAsDockerDoes(word));
    }

    [Theory]
    [InlineData("line one\nline two")]
    [InlineData("carriage\rreturn")]
    public void CreateDockerfile_EnvValueWithLineBreak_InputExceptionNamingTheVariable(string value)
    {
        // Given an env value a single Dockerfile line cannot carry
        var pipeline = _harness.Pipeline() with { Env = [new("MOTD", value)] };

        // When the Dockerfile is generated
        var error = Assert.Throws<Errors.InputException>(() => BuildContext.CreateDockerfile(pipeline, BaseByDigest));

        // Then it is bad input naming the variable and the fix, rather than a broken Dockerfile
        Assert.Contains("env MOTD contains a line break", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateDockerfile_NoUserWorkdirEntrypointCmd_EmitsNoneOfThem()
    {
        // Given a pipeline that sets none of them
        var pipeline = _harness.Pipeline();

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest));

        // Then the base image's settings are left alone
        Assert.DoesNotContain(lines, l => l.StartsWith("WORKDIR", StringComparison.Ordinal) || l.StartsWith("USER", StringComparison.Ordinal)
            || l.StartsWith("ENTRYPOINT", StringComparison.Ordinal) || l.StartsWith("CMD", StringComparison.Ordinal) || l.StartsWith("ENV", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count);
    }

    [Fact]
    public void CreateDockerfile_UserWorkdirEntrypointCmdSet_EmitsEachInExecForm()
    {
        // Given a pipeline that sets them all
        var pipeline = _harness.Pipeline() with
        {
            User = "10001:10001",
            WorkingDirectory = "/app",
            Entrypoint = ["python3", "-u"],
            Cmd = ["/app/main.py", "--name", "a \"b\""],
        };

        // When the Dockerfile is generated
        var lines = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest));

        // Then each appears once, entrypoint and cmd as JSON arrays
        Assert.Contains("WORKDIR /app", lines);
        Assert.Contains("USER 10001:10001", lines);
        Assert.Equal(["python3", "-u"], JsonSerializer.Deserialize<string[]>(Assert.Single(lines, l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..])!);
        Assert.Equal(["/app/main.py", "--name", "a \"b\""], JsonSerializer.Deserialize<string[]>(Assert.Single(lines, l => l.StartsWith("CMD ", StringComparison.Ordinal))["CMD ".Length..])!);
    }

    [Fact]
    public void CreateDockerfile_EverythingSet_InstructionsInDocumentedOrder()
    {
        // Given a pipeline that sets every instruction
        var file = _harness.WriteFile("a.txt", "a");
        var pipeline = _harness.Pipeline() with
        {
            AptPackages = [new AptPackage("curl", "1")],
            Files = [new FileCopy(file, "/a.txt")],
            Env = [new("A", "1")],
            User = "app",
            WorkingDirectory = "/app",
            Entrypoint = ["sh"],
            Cmd = ["-c", "true"],
        };

        // When the Dockerfile is generated
        var keywords = Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)).Where(l => !l.StartsWith('#')).Select(l => l.Split(' ')[0]).ToList();

        // Then FROM, RUN, COPY, ENV, WORKDIR, USER, ENTRYPOINT, CMD: packages install as root before USER switches
        Assert.Equal(["FROM", "RUN", "COPY", "ENV", "WORKDIR", "USER", "ENTRYPOINT", "CMD"], keywords);
    }

    /// <summary>
    /// The engine decodes a JSON-form COPY, then still reads each argument as a shell word (witnessed
    /// here: <c>COPY ["files/0", "/tmp/a $HOME b'c"]</c> fails with "unexpected end of statement while
    /// looking for matching single-quote", and without the quote <c>$HOME</c> is expanded).
    /// Destinations are only required to be absolute paths without '..', so both are reachable.
    /// </summary>
    [Theory]
    [InlineData("/app/main.py")]
    [InlineData("/app/it's.txt")]
    [InlineData("/srv/$HOME/config")]
    [InlineData("/opt/a\\b")]
    public void CreateDockerfile_CopyDestination_SurvivesTheEnginesWordRules(string destination)
    {
        // Given a file copied to a destination
        var pipeline = _harness.Pipeline() with { Files = [new FileCopy("/src/a", destination)] };

        // When the Dockerfile is generated and the COPY read as the engine reads it
        var copy = Assert.Single(Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)), l => l.StartsWith("COPY ", StringComparison.Ordinal));
        var arguments = JsonSerializer.Deserialize<string[]>(copy["COPY ".Length..])!;

        // Then the file lands at exactly the destination
        Assert.Equal(destination, ReadWordAsDockerDoes(arguments[1]));
    }

    /// <summary>WORKDIR takes the rest of the line as a word, so a '$' in it is expanded by the engine (witnessed: <c>WORKDIR /w $HOME x</c> gives <c>/w /root x</c>).</summary>
    [Theory]
    [InlineData("/app")]
    [InlineData("/srv/$APP")]
    public void CreateDockerfile_WorkingDirectory_SurvivesTheEnginesWordRules(string workdir)
    {
        // Given a working directory
        var pipeline = _harness.Pipeline() with { WorkingDirectory = workdir };

        // When the Dockerfile is generated and WORKDIR read as the engine reads it
        var line = Assert.Single(Lines(BuildContext.CreateDockerfile(pipeline, BaseByDigest)), l => l.StartsWith("WORKDIR ", StringComparison.Ordinal));

        // Then the image's working directory is exactly it
        Assert.Equal(workdir, ReadWordAsDockerDoes(line["WORKDIR ".Length..]));
    }

    [Fact]
    public async Task WriteAsync_SameInputsTwice_ByteIdenticalTars()
    {
        // Given a pipeline with two files
        var a = _harness.WriteFile("a.py", "print('a')\n");
        var b = _harness.WriteFile("conf/b.conf", "b=1\n");
        var pipeline = _harness.Pipeline() with { Files = [new FileCopy(a, "/app/a.py", 493), new FileCopy(b, "/etc/b.conf", 420)] };
        var dockerfile = BuildContext.CreateDockerfile(pipeline, BaseByDigest);

        // When the context is written twice, with the files touched in between
        var first = await WriteAsync(pipeline, dockerfile);
        File.SetLastWriteTimeUtc(a, DateTime.UtcNow.AddDays(-3));
        var second = await WriteAsync(pipeline, dockerfile);

        // Then the bytes are the same, so the engine's cache and the image do not depend on the checkout
        Assert.NotEmpty(first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task WriteAsync_Files_EntriesAreDockerfileThenFilesByIndexOwnedByRootAtFixedTime()
    {
        // Given files with a configured mode and one without (its source is 0750)
        var a = _harness.WriteFile("a.py", "print('a')\n");
        var b = _harness.WriteFile("b.sh", "#!/bin/sh\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        var c = _harness.WriteFile("c.conf", "c=1\n");
        var pipeline = _harness.Pipeline() with { Files = [new FileCopy(a, "/app/a.py", 420), new FileCopy(b, "/app/b.sh"), new FileCopy(c, "/etc/c.conf", 256)] };
        var dockerfile = BuildContext.CreateDockerfile(pipeline, BaseByDigest);

        // When the context is written and read back
        var entries = await ReadEntriesAsync(await WriteAsync(pipeline, dockerfile));

        // Then it holds Dockerfile and files/0..2 in order, with their modes, root-owned, at the fixed time
        Assert.Equal(["Dockerfile", "files/0", "files/1", "files/2"], entries.Select(e => e.Name));
        Assert.Equal(dockerfile, Encoding.UTF8.GetString(entries[0].Content));
        Assert.Equal("print('a')\n", Encoding.UTF8.GetString(entries[1].Content));
        Assert.Equal("#!/bin/sh\n", Encoding.UTF8.GetString(entries[2].Content));
        Assert.Equal((UnixFileMode)420, entries[1].Mode);
        Assert.Equal((UnixFileMode)488, entries[2].Mode);
        Assert.Equal((UnixFileMode)256, entries[3].Mode);
        Assert.All(entries, e =>
        {
            Assert.Equal(TarEntryType.RegularFile, e.Type);
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal(BuildContext.FixedTimestamp, e.ModificationTime);
        });
    }

    [Fact]
    public async Task WriteAsync_NoFiles_OnlyTheDockerfile()
    {
        // Given a pipeline without files
        var pipeline = _harness.Pipeline();

        // When the context is written
        var entries = await ReadEntriesAsync(await WriteAsync(pipeline, "FROM x\n"));

        // Then the Dockerfile is the only entry
        var entry = Assert.Single(entries);
        Assert.Equal("Dockerfile", entry.Name);
        Assert.Equal("FROM x\n", Encoding.UTF8.GetString(entry.Content));
    }

    private static List<string> Lines(string dockerfile) =>
        dockerfile.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private static async Task<byte[]> WriteAsync(PipelineDefinition pipeline, string dockerfile)
    {
        using var output = new MemoryStream();
        await BuildContext.WriteAsync(pipeline, dockerfile, output);
        return output.ToArray();
    }

    private static async Task<List<(string Name, TarEntryType Type, UnixFileMode Mode, int Uid, int Gid, DateTimeOffset ModificationTime, byte[] Content)>> ReadEntriesAsync(byte[] tar)
    {
        var entries = new List<(string, TarEntryType, UnixFileMode, int, int, DateTimeOffset, byte[])>();
        await using var reader = new TarReader(new MemoryStream(tar));
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            using var content = new MemoryStream();
            if (entry.DataStream is not null)
            {
                await entry.DataStream.CopyToAsync(content);
            }

            entries.Add((entry.Name, entry.EntryType, entry.Mode, entry.Uid, entry.Gid, entry.ModificationTime, content.ToArray()));
        }

        return entries;
    }

    // A word as the Dockerfile shell lexer reads it (moby buildkit frontend/dockerfile/shell/lex.go):
    // '…' is literal, "…" allows only \" \$ \\ escapes, \ escapes outside quotes, and $NAME or ${NAME}
    // expands, here against an empty environment.
    private static string ReadWordAsDockerDoes(string word)
    {
        var result = new StringBuilder();
        var i = 0;
        while (i < word.Length)
        {
            var ch = word[i];
            if (ch == '\'')
            {
                var close = word.IndexOf('\'', i + 1);
                if (close < 0)
                {
                    throw new InvalidOperationException($"the engine fails on {word}: unexpected end of statement while looking for matching single-quote");
                }

                result.Append(word, i + 1, close - i - 1);
                i = close + 1;
            }
            else if (ch == '"')
            {
                i++;
                while (true)
                {
                    if (i >= word.Length)
                    {
                        throw new InvalidOperationException($"the engine fails on {word}: unexpected end of statement while looking for matching double-quote");
                    }

                    if (word[i] == '"')
                    {
                        i++;
                        break;
                    }

                    if (word[i] == '$')
                    {
                        i = SkipVariable(word, i, result);
                    }
                    else if (word[i] == '\\' && i + 1 < word.Length && word[i + 1] is '"' or '$' or '\\')
                    {
                        result.Append(word[i + 1]);
                        i += 2;
                    }
                    else
                    {
                        result.Append(word[i++]);
                    }
                }
            }
            else if (ch == '$')
            {
                i = SkipVariable(word, i, result);
            }
            else if (ch == '\\')
            {
                if (i + 1 < word.Length)
                {
                    result.Append(word[i + 1]);
                }

                i += 2;
            }
            else
            {
                result.Append(ch);
                i++;
            }
        }

        return result.ToString();
    }

    // At a '$': a variable reference expands to nothing; a lone '$' stays.
    private static int SkipVariable(string word, int i, StringBuilder result)
    {
        if (i + 1 < word.Length && word[i + 1] == '{')
        {
            return word.IndexOf('}', i) + 1;
        }

        var end = i + 1;
        while (end < word.Length && (char.IsAsciiLetterOrDigit(word[end]) || word[end] == '_'))
        {
            end++;
        }

        if (end == i + 1)
        {
            result.Append('$');
        }

        return end;
    }
}
