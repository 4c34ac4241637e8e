using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Infrastructure;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Dashboard.Tests;

/// <summary>
/// The dashboard in chromium against a real daemon, engine and registries: the matrix agrees with skopeo, a promote
/// from the page is followed live to its end, a read-only token's promote is refused with 403, and no page breaks its
/// Content-Security-Policy. Screenshots at 1280×800 and at a 390-px phone width go to .orchestrator/test-results/screenshots.
/// Run in name order (<see cref="AlphabeticalOrderer"/>): the refusal needs production still empty.
/// </summary>
[Trait("Category", "Integration")]
[TestCaseOrderer(AlphabeticalOrderer.Name, AlphabeticalOrderer.Assembly)]
public sealed class DashboardBrowserTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    private static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    /// <summary>A fresh tab (its own sessionStorage) recording console errors and uncaught exceptions.</summary>
    private sealed class Tab(IBrowserContext context, IPage page, List<string> problems) : IAsyncDisposable
    {
        public IPage Page => page;

        public List<string> Problems => problems;

        public List<string> Urls { get; } = [];

        public ValueTask DisposeAsync() => new(context.CloseAsync());
    }

    private async Task<Tab> OpenAsync(ViewportSize size)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = size });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        var problems = new List<string>();
        var tab = new Tab(context, page, problems);
        page.Console += (_, message) =>
        {
            // Every CSP violation (chromium logs them as errors), and any other error; chromium's own hints at
            // lower levels are not the page's faults.
            if (message.Type == "error" || message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (problems)
                {
                    problems.Add($"console {message.Type}: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (problems)
            {
                problems.Add($"page error: {error}");
            }
        };
        page.Request += (_, request) =>
        {
            lock (tab.Urls)
            {
                tab.Urls.Add(request.Url);
            }
        };
        return tab;
    }

    private async Task<IResponse> GoAsync(Tab tab, string hash = "#/")
    {
        var response = await tab.Page.GotoAsync($"{fixture.Daemon.Url}/{hash}");
        Assert.NotNull(response);
        return response!;
    }

    private static async Task UseTokenAsync(Tab tab, string secret)
    {
        await tab.Page.FillAsync("#token-input", secret);
        await tab.Page.PressAsync("#token-input", "Enter");
        await tab.Page.WaitForSelectorAsync("#token-state:has-text('token set')");
    }

    private static async Task ScreenshotAsync(Tab tab, string name) =>
        await tab.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    private static void AssertNoCspViolationOrError(Tab tab)
    {
        lock (tab.Problems)
        {
            Assert.DoesNotContain(tab.Problems, p => p.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));

            // The page's first reads before a token is typed are answered 401, which chromium logs as a failed load;
            // the page shows that refusal itself. Anything else (an exception, another failed load) is a fault.
            var others = tab.Problems.Where(p => !p.Contains("status of 401", StringComparison.Ordinal)).ToList();
            Assert.True(others.Count == 0, "the page reported problems:" + Environment.NewLine + string.Join(Environment.NewLine, others));
        }
    }

    private ILocator Cell(IPage page, string stage) =>
        page.Locator($"td.cell[data-pipeline='{fixture.Pipeline}'][data-stage='{stage}']");

    private static string Registry(string stage) => stage == "production" ? DashboardFixture.Production : DashboardFixture.Staging;

    [Fact]
    public async Task Matrix_BuiltAndValidatedPipeline_CellDigestsEqualWhatSkopeoReadsAndThePageKeepsItsCsp()
    {
        foreach (var (size, label) in new[] { (Desktop, "desktop"), (Phone, "phone") })
        {
            // Given the pipeline built and validated in staging, and a tab with a read-only token
            await using var tab = await OpenAsync(size);
            var response = await GoAsync(tab);
            Assert.Equal(Csp, await response.HeaderValueAsync("content-security-policy"));
            Assert.Equal("nosniff", await response.HeaderValueAsync("x-content-type-options"));
            Assert.Equal("no-referrer", await response.HeaderValueAsync("referrer-policy"));

            // When the matrix is shown
            await UseTokenAsync(tab, DashboardFixture.ViewerSecret);
            var staging = Cell(tab.Page, "staging");
            await staging.Locator("code.digest").WaitForAsync();
            await staging.Locator(".tests:has-text('tests')").WaitForAsync();
            await tab.Page.Locator(".sizes:not(:has-text('Asking the registries'))").WaitForAsync();

            // Then every cell's digest is what skopeo reads from that stage's registry, and an empty cell is empty there too
            foreach (var stage in new[] { "staging", "production" })
            {
                var shown = await Cell(tab.Page, stage).GetAttributeAsync("data-digest");
                var reference = $"{Registry(stage)}/{fixture.Repository}:1.0.0";
                if (string.IsNullOrEmpty(shown))
                {
                    Assert.False(await ProcessWitness.SkopeoExistsAsync(reference), $"{stage} shows nothing but skopeo finds {reference}");
                }
                else
                {
                    Assert.Equal(await ProcessWitness.SkopeoDigestAsync(reference), shown);
                    Assert.Equal(shown[..19], (await Cell(tab.Page, stage).Locator("code.digest").TextContentAsync())!.Trim());
                }
            }

            Assert.Equal(fixture.StagingDigest, await staging.GetAttributeAsync("data-digest"));
            Assert.Contains("✓ validated", await staging.TextContentAsync());
            Assert.Matches(@"^ · (\d+)/\1 tests$", await staging.Locator(".tests").TextContentAsync());

            // And the page fits the width (tables scroll inside their box, the page itself does not)
            var overflow = await tab.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"the {label} page is {overflow}px wider than the window");
            await ScreenshotAsync(tab, $"matrix-{label}");
            AssertNoCspViolationOrError(tab);
        }
    }

    [Fact]
    public async Task Pages_JobsAndPipeline_RenderWithoutCspViolationsAtDesktopAndPhoneWidth()
    {
        foreach (var (size, label) in new[] { (Desktop, "desktop"), (Phone, "phone") })
        {
            // Given a tab with a read-only token
            await using var tab = await OpenAsync(size);
            await GoAsync(tab, "#/jobs");
            await UseTokenAsync(tab, DashboardFixture.ViewerSecret);

            // When the jobs list and the pipeline's page are opened
            await tab.Page.Locator("#jobs tbody tr[data-job]").First.WaitForAsync();
            var rows = await tab.Page.Locator("#jobs tbody tr[data-job]").CountAsync();
            await ScreenshotAsync(tab, $"jobs-{label}");
            await tab.Page.GotoAsync($"{fixture.Daemon.Url}/#/pipelines/{fixture.Pipeline}");
            await tab.Page.Locator("#history tbody tr").First.WaitForAsync();
            var history = await tab.Page.Locator("#history").TextContentAsync();

            // And the validation's tests, with what each saw, open from its summary with the keyboard
            var tests = tab.Page.Locator("#history details.tests").First;
            await tests.Locator("summary").FocusAsync();
            await tab.Page.Keyboard.PressAsync("Enter");
            Assert.True(await tests.EvaluateAsync<bool>("details => details.open"), "Enter on the summary did not open the tests");
            var names = await tests.Locator("li[data-test]").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.test)");
            Assert.Contains("greets", names);
            Assert.Contains("pinned hello runs", names);
            await ScreenshotAsync(tab, $"pipeline-{label}");

            // Then they show the fixture's build and validation, and nothing broke the policy
            Assert.True(rows >= 2, $"expected the build and validation jobs, saw {rows} row(s)");
            Assert.Matches(@"passed (\d+)/\1 test\(s\)", history);
            Assert.Contains(fixture.StagingDigest[..19], history);
            AssertNoCspViolationOrError(tab);
        }
    }

    [Fact]
    public async Task Promote_ReadOnlyToken_Shows403AndProductionIsUnchanged()
    {
        // Given production without the pipeline, and a tab with a token that may only read
        var production = $"{DashboardFixture.Production}/{fixture.Repository}:1.0.0";
        Assert.False(await ProcessWitness.SkopeoExistsAsync(production));
        await using var tab = await OpenAsync(Desktop);
        await GoAsync(tab);
        await UseTokenAsync(tab, DashboardFixture.ViewerSecret);

        // When its promote button is pressed
        var promote = Cell(tab.Page, "production").Locator("button[data-kind='promote']");
        await promote.ClickAsync();

        // Then the page says 403 Forbidden, no promote job exists and production still has nothing
        var notice = tab.Page.Locator("#notice[data-level='error']");
        await notice.WaitForAsync();
        var text = await notice.TextContentAsync();
        Assert.StartsWith("403 Forbidden", text);
        Assert.Contains("promote:production", text);
        await ScreenshotAsync(tab, "promote-403-desktop");
        Assert.False(await ProcessWitness.SkopeoExistsAsync(production));
        var jobs = await fixture.Daemon.SendAsync(HttpMethod.Get, $"/api/jobs?kind=promote&pipeline={fixture.Pipeline}", DaemonProcess.AdminSecret);
        Assert.Empty(JsonDocument.Parse(await jobs.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs").EnumerateArray());

        // And a 403 on a console is a failed request, not a policy violation
        lock (tab.Problems)
        {
            Assert.DoesNotContain(tab.Problems, p => p.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Promote_ReleaseToken_JobPageFollowsTheJobLiveToSucceededAndProductionHoldsTheStagingDigest()
    {
        // Given a tab with a token that may promote to production
        await using var tab = await OpenAsync(Desktop);
        await GoAsync(tab);
        await UseTokenAsync(tab, DaemonProcess.ReleaseSecret);
        var loads = 0;
        tab.Page.Load += (_, _) => loads++;

        // When its promote button is pressed
        var events = tab.Page.WaitForRequestAsync(r => r.Url.Contains("/events", StringComparison.Ordinal));
        await Cell(tab.Page, "production").Locator("button[data-kind='promote']").ClickAsync();

        // Then the job page opens and follows the job through its event stream, sent with the token as a header
        var request = await events;
        Assert.Equal($"Bearer {DaemonProcess.ReleaseSecret}", await request.HeaderValueAsync("authorization"));
        var state = tab.Page.Locator("#job-state");
        await tab.Page.Locator("#job-state[data-state='succeeded']").WaitForAsync(new() { Timeout = 300_000 });
        await tab.Page.Locator("#job-live:has-text('ended')").WaitForAsync();
        Assert.Equal("succeeded", await state.TextContentAsync());
        var id = long.Parse(tab.Page.Url[(tab.Page.Url.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var job = await fixture.Daemon.GetJobAsync(id, DaemonProcess.AdminSecret);
        Assert.Equal("promote", job.GetProperty("kind").GetString());
        Assert.Equal("release", job.GetProperty("requestedBy").GetString());

        // And every log line arrived once, in order, without a reload of the page (hash routes only)
        var shown = await tab.Page.Locator("#job-log li").EvaluateAllAsync<long[]>("items => items.map(i => Number(i.dataset.sequence))");
        var stored = job.GetProperty("log").EnumerateArray().Select(l => l.GetProperty("sequence").GetInt64()).ToArray();
        Assert.NotEmpty(stored);
        Assert.Equal(stored, shown);
        Assert.Equal(0, loads);
        await ScreenshotAsync(tab, "job-desktop");

        // And production holds exactly the validated staging digest, as skopeo reads it
        var digest = await ProcessWitness.SkopeoDigestAsync($"{DashboardFixture.Production}/{fixture.Repository}:1.0.0");
        Assert.Equal(fixture.StagingDigest, digest);
        Assert.Equal(fixture.StagingDigest, await ProcessWitness.SkopeoDigestAsync($"{DashboardFixture.Staging}/{fixture.Repository}:1.0.0"));

        // And the matrix now shows it in production, not as differing from staging
        await tab.Page.Locator("a[data-nav='matrix']").ClickAsync();
        await Cell(tab.Page, "production").Locator("code.digest").WaitForAsync();
        Assert.Equal(digest, await Cell(tab.Page, "production").GetAttributeAsync("data-digest"));
        Assert.DoesNotContain("differs", await Cell(tab.Page, "production").GetAttributeAsync("class"));

        // And the secret was never in a URL, nor in a cookie
        Assert.DoesNotContain(tab.Urls, u => u.Contains(DaemonProcess.ReleaseSecret, StringComparison.Ordinal));
        Assert.Empty(await tab.Page.Context.CookiesAsync());
        AssertNoCspViolationOrError(tab);

        // The job page at phone width, for people to look at
        await using var phone = await OpenAsync(Phone);
        await GoAsync(phone, $"#/jobs/{id}");
        await UseTokenAsync(phone, DashboardFixture.ViewerSecret);
        await phone.Page.Locator("#job-state[data-state='succeeded']").WaitForAsync();
        await ScreenshotAsync(phone, "job-phone");
        AssertNoCspViolationOrError(phone);
    }
}
