using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Orchestrator.Core.Definitions;
using Orchestrator.Core.Errors;
using Orchestrator.Core.Ports;
using Orchestrator.Core.References;

namespace Orchestrator.Registry.Tests;

public sealed class ImageCopierTests
{
    private static readonly RegistryEndpoint Source = new("source.test", true);
    private static readonly RegistryEndpoint Target = new("target.test", true);

    /// <summary>A source serving one image whose layer bytes are <paramref name="served"/>, while the manifest names <paramref name="layer"/>.</summary>
    private static (FakeHandler Handler, Digest Manifest) SourceAndTarget(byte[] layer, byte[] served, Func<RecordedRequest, HttpResponseMessage>? target = null, Func<HttpContent>? servedContent = null)
    {
        var layerDigest = Digest.Sha256Of(layer);
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{layerDigest}}","size":{{layer.Length}}},"layers":[]}""");
        var manifestDigest = Digest.Sha256Of(manifest);
        var handler = new FakeHandler(r =>
        {
            if (r.Uri.Host == "source.test")
            {
                // No referrers: neither the API nor a fallback tag (sha256-HEX) exists.
                if (r.Uri.AbsolutePath.Contains("/referrers/", StringComparison.Ordinal) || r.Uri.AbsolutePath.Contains("/manifests/sha256-", StringComparison.Ordinal))
                {
                    return FakeHandler.Status(HttpStatusCode.NotFound);
                }

                if (r.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal))
                {
                    var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(manifest) };
                    response.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciManifest);
                    return response;
                }

                return new HttpResponseMessage(HttpStatusCode.OK) { Content = servedContent?.Invoke() ?? new ByteArrayContent(served) };
            }

            if (target is not null)
            {
                return target(r);
            }

            if (r.Method == HttpMethod.Head)
            {
                return FakeHandler.Status(HttpStatusCode.NotFound);
            }

            if (r.Method == HttpMethod.Post)
            {
                var accepted = FakeHandler.Status(HttpStatusCode.Accepted);
                accepted.Headers.Location = new Uri("/v2/app/blobs/uploads/u", UriKind.Relative);
                return accepted;
            }

            return FakeHandler.Status(r.Method == HttpMethod.Delete ? HttpStatusCode.NoContent : HttpStatusCode.Created);
        });
        return (handler, manifestDigest);
    }

    [Fact]
    public async Task CopyAsync_TargetStillDownWhenTheRetryChecksForTheBlob_RetriesTheBlobInsteadOfFailing()
    {
        // Given a target whose first blob commit fails with 503, and which then answers 503 to the check for the blob
        // before the next attempt (as a restarting registry does), and 200 to everything after
        var layer = Encoding.UTF8.GetBytes("a layer the target loses once");
        var failed = 0;
        var down = 0;
        var (handler, manifest) = SourceAndTarget(layer, layer, r =>
        {
            var blobs = r.Uri.AbsolutePath.Contains("/blobs/", StringComparison.Ordinal);
            if (r.Method == HttpMethod.Head && blobs)
            {
                // Down for every attempt of the client's own retries (three), so only the copier's next attempt gets past it.
                return Volatile.Read(ref failed) == 1 && Interlocked.Increment(ref down) <= 3 ? FakeHandler.Status(HttpStatusCode.ServiceUnavailable) : FakeHandler.Status(HttpStatusCode.NotFound);
            }

            if (r.Method == HttpMethod.Head)
            {
                return FakeHandler.Status(HttpStatusCode.NotFound);
            }

            if (r.Method == HttpMethod.Post)
            {
                var accepted = FakeHandler.Status(HttpStatusCode.Accepted);
                accepted.Headers.Location = new Uri("/v2/app/blobs/uploads/u", UriKind.Relative);
                return accepted;
            }

            if (r.Method == HttpMethod.Put && blobs && Interlocked.Exchange(ref failed, 1) == 0)
            {
                return FakeHandler.Status(HttpStatusCode.ServiceUnavailable);
            }

            return FakeHandler.Status(r.Method == HttpMethod.Delete ? HttpStatusCode.NoContent : HttpStatusCode.Created);
        });
        var options = new RegistryClientOptions { MaxRetryAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(1) };
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), options, () => handler, _ => null);
        var copier = new ImageCopier(factory, options: options);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]));

        // When it is copied
        var result = await copier.CopyAsync(plan);

        // Then the failed check did not end the retries: the blob was committed on the next attempt and the tag set
        Assert.True(Volatile.Read(ref down) >= 3, $"{down} checks for the blob");
        Assert.Equal(1, result.BlobsCopied);
        Assert.Equal(2, handler.Requests.Count(r => r.Method == HttpMethod.Put && r.Uri.AbsolutePath.Contains("/blobs/uploads/", StringComparison.Ordinal)));
        Assert.Equal(["1.0"], result.TagsApplied);
    }

    [Fact]
    public async Task CopyAsync_SourceConnectionBreaksMidBlob_FailureNamesTheSourceNotTheTarget()
    {
        // Given a source whose blob body breaks after a few bytes, and no retries
        var layer = Encoding.UTF8.GetBytes("a layer whose download breaks half way through");
        var (handler, manifest) = SourceAndTarget(layer, layer, servedContent: () =>
        {
            var content = new StreamContent(new BreakingStream(layer[..10]));
            content.Headers.ContentLength = layer.Length;
            return content;
        });
        var options = new RegistryClientOptions { MaxRetryAttempts = 0 };
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), options, () => handler, _ => null);
        var copier = new ImageCopier(factory, options: options);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]));

        // When it is copied
        var ex = await Assert.ThrowsAsync<UnavailableException>(() => copier.CopyAsync(plan));

        // Then the message blames the source's connection, names the blob and how far it got, and not the target
        Assert.Contains("the connection to the source broke while reading blob " + Digest.Sha256Of(layer), ex.Message, StringComparison.Ordinal);
        Assert.Contains("source.test/app", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"after 10 of {layer.Length} bytes", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("target.test", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Serves <paramref name="head"/>, then fails the next read as a reset connection does.</summary>
    private sealed class BreakingStream(byte[] head) : MemoryStream(head)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            Position < Length ? base.Read(buffer, offset, count) : throw new IOException("Connection reset by peer");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new IOException("Connection reset by peer");
    }

    [Fact]
    public async Task CopyAsync_SourceServesCorruptBlob_FailsBeforeCommitAndWritesNoManifest()
    {
        // Given a source serving a blob of the right size but the wrong bytes
        var layer = Encoding.UTF8.GetBytes("the real layer content");
        var corrupt = Encoding.UTF8.GetBytes("the fake layer content");
        var (handler, manifest) = SourceAndTarget(layer, corrupt);
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => handler, _ => null);
        var copier = new ImageCopier(factory);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]));

        // When it is copied
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => copier.CopyAsync(plan));

        // Then the error names the expected digest, no upload reached the registry whole, the session was
        // cancelled, and no manifest or tag was written
        Assert.Contains(Digest.Sha256Of(layer).ToString(), ex.Message, StringComparison.Ordinal);
        var target = handler.Requests.Where(r => r.Uri.Host == "target.test").ToList();
        Assert.DoesNotContain(target, r => r.Method == HttpMethod.Put);
        Assert.Contains(target, r => r.Method == HttpMethod.Delete && r.Uri.AbsolutePath == "/v2/app/blobs/uploads/u");
    }

    [Fact]
    public async Task CopyAsync_PlanWithConflict_RefusedWithoutAnyRequest()
    {
        // Given a plan in which tag 1.0 already points at another digest
        var layer = Encoding.UTF8.GetBytes("layer");
        var other = Digest.Sha256Of("other"u8);
        var (handler, manifest) = SourceAndTarget(layer, layer, target: r =>
        {
            if (r.Method == HttpMethod.Head && r.Uri.AbsolutePath.EndsWith("/manifests/1.0", StringComparison.Ordinal))
            {
                var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
                response.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciManifest);
                response.Content.Headers.ContentLength = 10;
                response.Headers.Add("Docker-Content-Digest", other.ToString());
                return response;
            }

            return FakeHandler.Status(HttpStatusCode.NotFound);
        });
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => handler, _ => null);
        var copier = new ImageCopier(factory);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]));
        var before = handler.Requests.Count;

        // When it is executed
        var ex = await Assert.ThrowsAsync<JobRefusedException>(() => copier.CopyAsync(plan));

        // Then nothing at all was sent, and the message names tag, current digest and fix
        Assert.Equal(before, handler.Requests.Count);
        Assert.Contains("'1.0'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(other.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains("pick another tag", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PlanAsync_TagAtAnotherDigest_ConflictExactlyWhenThePolicySaysItMayNotMove(bool mayMove)
    {
        // Given a target whose tag 1.0 points at another digest, and a caller's policy
        var layer = Encoding.UTF8.GetBytes("layer");
        var other = Digest.Sha256Of("other"u8);
        var (handler, manifest) = SourceAndTarget(layer, layer, target: TagAt("1.0", other));
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => handler, _ => null);
        var policy = new RecordingPolicy(mayMove);

        // When a copy is planned under that policy
        var plan = await new ImageCopier(factory).PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]) { TagPolicy = policy });

        // Then the policy was asked about that tag and its current digest, and decided the conflict
        Assert.Equal([("1.0", other)], policy.Asked);
        Assert.Equal(!mayMove, plan.HasConflicts);
    }

    [Fact]
    public async Task CopyAsync_PlanWithConflict_ThrowsThePolicysRefusalBeforeAnyContent()
    {
        // Given a plan whose tag 1.0 may not move under the caller's policy
        var layer = Encoding.UTF8.GetBytes("layer");
        var other = Digest.Sha256Of("other"u8);
        var (handler, manifest) = SourceAndTarget(layer, layer, target: TagAt("1.0", other));
        using var factory = new RegistryClientFactory(null, new FastTimeProvider(), new RegistryClientOptions(), () => handler, _ => null);
        var policy = new RecordingPolicy(mayMove: false);
        var copier = new ImageCopier(factory);
        var plan = await copier.PlanAsync(new CopyRequest(Source, "app", manifest, Target, "app", ["1.0"]) { TagPolicy = policy });

        // When it is executed
        var ex = await Assert.ThrowsAsync<JobRefusedException>(() => copier.CopyAsync(plan));

        // Then the error is the policy's, for that conflict, with nothing copied
        Assert.Equal("refused by the test policy", ex.Message);
        Assert.Equal([(new TagConflict("1.0", other), false)], policy.Refused);
    }

    private static Func<RecordedRequest, HttpResponseMessage> TagAt(string tag, Digest digest) => r =>
    {
        if (r.Method == HttpMethod.Head && r.Uri.AbsolutePath.EndsWith("/manifests/" + tag, StringComparison.Ordinal))
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypes.OciManifest);
            response.Content.Headers.ContentLength = 10;
            response.Headers.Add("Docker-Content-Digest", digest.ToString());
            return response;
        }

        return FakeHandler.Status(HttpStatusCode.NotFound);
    };

    // A policy that answers one way for every tag and records what the copier asked.
    private sealed class RecordingPolicy(bool mayMove) : ITagPolicy
    {
        public List<(string Tag, Digest Current)> Asked { get; } = [];

        public List<(TagConflict Conflict, bool ContentCopied)> Refused { get; } = [];

        public bool MayMove(CopyRequest request, string tag, Digest current)
        {
            Asked.Add((tag, current));
            return mayMove;
        }

        public JobRefusedException Refuse(CopyRequest request, IReadOnlyList<TagConflict> conflicts, bool contentCopied)
        {
            Refused.AddRange(conflicts.Select(c => (c, contentCopied)));
            return new JobRefusedException("refused by the test policy");
        }
    }

    [Fact]
    public async Task VerifyingStream_WrongLastByte_ThrowsBeforeHandingItOver()
    {
        // Given content whose last byte differs from what the digest says
        var expected = new byte[] { 1, 2, 3, 4 };
        var served = new byte[] { 1, 2, 3, 5 };
        var stream = new VerifyingStream(new MemoryStream(served), Digest.Sha256Of(expected), expected.Length, "blob");
        var buffer = new byte[3];

        // When read in pieces
        await stream.ReadExactlyAsync(buffer);
        var first = buffer.Length;

        // Then the first bytes flow, and the read that would complete the content fails instead
        Assert.Equal(3, first);
        await Assert.ThrowsAsync<DigestMismatchException>(async () => await stream.ReadExactlyAsync(buffer.AsMemory(0, 1)));
    }

    [Fact]
    public async Task VerifyingStream_SourceEndsEarly_ThrowsNamingTheSizes()
    {
        // Given a source shorter than announced
        var content = new byte[] { 1, 2, 3 };
        var stream = new VerifyingStream(new MemoryStream(content), Digest.Sha256Of(content), 10, "blob x");

        // When read to the end
        var ex = await Assert.ThrowsAsync<DigestMismatchException>(() => stream.CopyToAsync(Stream.Null));

        // Then the sizes are named
        Assert.Contains("3 of 10 bytes", ex.Message, StringComparison.Ordinal);
    }
}
