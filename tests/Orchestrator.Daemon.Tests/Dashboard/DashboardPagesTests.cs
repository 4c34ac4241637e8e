using System.Net;
using System.Text.RegularExpressions;
using Orchestrator.Daemon.Dashboard;
using Orchestrator.Daemon.Tests.Fakes;

namespace Orchestrator.Daemon.Tests.Dashboard;

/// <summary>The dashboard's static pages: embedded, served without a token, each with the strict security headers.</summary>
public sealed partial class DashboardPagesTests : IAsyncLifetime
{
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly DaemonHarness _daemon = new();

    public Task InitializeAsync() => _daemon.StartAsync();

    public Task DisposeAsync() => _daemon.DisposeAsync().AsTask();

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(Csp, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [Fact]
    public async Task GetRoot_NoToken_ServesThePageWithStrictCspAndNoInlineCode()
    {
        // Given a running daemon
        // When / is opened without a token
        var response = await _daemon.SendAsync(HttpMethod.Get, "/", secret: null);
        var html = await response.Content.ReadAsStringAsync();

        // Then it is the dashboard page, with the headers, loading its code from /assets only
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        AssertSecurityHeaders(response);
        Assert.Contains("<script type=\"module\" src=\"/assets/app.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(InlineHandler(), html);
    }

    [Fact]
    public async Task GetAssets_EveryEmbeddedFile_ServedWithItsMediaTypeAndHeaders()
    {
        // Given the files embedded in the daemon
        var files = DashboardEndpoints.Files;
        Assert.Contains("app.js", files.Keys);
        Assert.Contains("style.css", files.Keys);

        foreach (var (name, asset) in files)
        {
            // When each is fetched
            var response = await _daemon.SendAsync(HttpMethod.Get, $"/assets/{name}", secret: null);

            // Then it comes back byte for byte, typed, with the headers and an ETag
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(asset.Content, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(asset.ContentType, response.Content.Headers.ContentType?.ToString());
            Assert.Equal(asset.ETag, response.Headers.ETag?.ToString());
            AssertSecurityHeaders(response);
        }
    }

    [Fact]
    public void Scripts_NeverInsertMarkup_OnlyText()
    {
        // Given the embedded scripts
        // Then none builds HTML from strings: values go in through textContent or attributes, which the CSP and escaping rely on
        foreach (var (name, asset) in DashboardEndpoints.Files.Where(f => f.Key.EndsWith(".js", StringComparison.Ordinal)))
        {
            var text = System.Text.Encoding.UTF8.GetString(asset.Content);
            Assert.DoesNotMatch(MarkupSink(), text.Replace("never innerHTML", string.Empty, StringComparison.Ordinal));
            Assert.DoesNotContain("eval(", text, StringComparison.Ordinal);
            Assert.False(text.Contains("localStorage", StringComparison.Ordinal) || text.Contains("document.cookie", StringComparison.Ordinal), $"{name} keeps something outside sessionStorage");
        }
    }

    [Fact]
    public async Task GetAsset_WithItsETag_Returns304()
    {
        // Given the ETag of app.js
        var etag = DashboardEndpoints.Files["app.js"].ETag;

        // When it is revalidated
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/app.js");
        request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        var response = await _daemon.Http.SendAsync(request);

        // Then nothing is sent again
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetAsset_UnknownName_Returns404WithJsonErrorAndHeaders()
    {
        // When a file the dashboard does not have is asked for
        var response = await _daemon.SendAsync(HttpMethod.Get, "/assets/<script>.js", secret: null);

        // Then 404, a JSON error, and the headers all the same
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no dashboard file", (await DaemonHarness.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task GetApi_Answer_CarriesTheSecurityHeadersToo()
    {
        // When the API answers (here a 401)
        var response = await _daemon.SendAsync(HttpMethod.Get, "/api/pipelines", secret: null);

        // Then a JSON answer opened in a tab is as locked down as the pages
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex("\\son[a-z]+\\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineHandler();

    [GeneratedRegex("innerHTML|outerHTML|insertAdjacentHTML|document\\.write")]
    private static partial Regex MarkupSink();
}
