using Orchestrator.Core.References;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Definitions.Tests;

/// <summary>The build cache key of a loaded definition depends on what it says, not on how the YAML is written.</summary>
public sealed class BuildCacheKeyYamlTests
{
    private const string File = "pipelines/app.yaml";

    private static readonly Digest BaseDigest = Digest.Sha256Of("base"u8);

    [Fact]
    public async Task Compute_CommentsWhitespaceAndKeyOrderChanged_SameKey()
    {
        // Given a pipeline, keyed
        using var ws = new TestWorkspace();
        ws.Write("pipelines/app/main.py", "print('hi')\n");
        ws.Write(File, """
            name: app
            version: 2.1.0
            base: debian-bookworm
            repository: apps/app
            packages:
              apt:
                libc6: 2.36-9+deb12u10
            files:
              - { src: app/main.py, dest: /app/main.py, mode: "0644" }
            env: { A: "1" }
            entrypoint: ["python3"]
            tags: ["{version}"]
            """);
        var before = await KeyAsync(ws);

        // When the same definition is rewritten with comments, other spacing, flow/block style and top-level keys reordered
        ws.Write(File, """
            # the app image
            repository: apps/app   # where it goes
            name: app
            version: 2.1.0

            base: debian-bookworm
            entrypoint:
              - python3
            tags: ["{version}"]
            files:
              - src: app/main.py
                dest: /app/main.py
                mode: "0644"
            packages:
              apt:
                # pinned
                libc6: "2.36-9+deb12u10"
            env:
              A: "1"
            """);
        var after = await KeyAsync(ws);

        // Then the key is the same
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Compute_OneValueChangedInTheYaml_KeyChanges()
    {
        // Given a pipeline, keyed
        using var ws = new TestWorkspace();
        ws.Write(File, """
            name: app
            version: 2.1.0
            base: debian-bookworm
            repository: apps/app
            env: { A: "1" }
            """);
        var before = await KeyAsync(ws);

        // When one env value changes
        ws.Write(File, """
            name: app
            version: 2.1.0
            base: debian-bookworm
            repository: apps/app
            env: { A: "2" }
            """);

        // Then the key changes
        Assert.NotEqual(before, await KeyAsync(ws));
    }

    private static async Task<Digest> KeyAsync(TestWorkspace ws)
    {
        var workspace = await ws.LoadAsync();
        return BuildCacheKey.Compute(workspace.GetPipeline("app"), BaseDigest, lockBytesOrChecksum: null, buildArgs: null);
    }
}
