using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.Dashboard.Tests.Infrastructure;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.Dashboard.Tests;

/// <summary>
/// The pipeline page's "what a promotion would change" in chromium against a real daemon reading the real registries:
/// staging and production serve different digests of one pipeline (see <see cref="PipelineDiffFixture"/>), and the page
/// lists the apt and Python packages added, removed and upgraded, the size change and the base change, with every value
/// as text; the page is reached from the matrix with the keyboard alone. Screenshots go to .orchestrator/test-results/screenshots.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PipelinePageBrowserTests(PipelineDiffFixture fixture) : IClassFixture<PipelineDiffFixture>
{
    private static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    private static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private async Task<(IBrowserContext Context, IPage Page, List<string> Problems)> OpenAsync(ViewportSize size)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = size });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("status of 401", StringComparison.Ordinal))
            {
                lock (problems)
                {
                    problems.Add($"console {message.Type}: {message.Text}");
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
        page.Dialog += (_, dialog) =>
        {
            lock (problems)
            {
                problems.Add($"a dialog opened (script ran from data): {dialog.Message}");
            }
        };
        await page.GotoAsync($"{fixture.Daemon.Url}/#/");
        await page.FillAsync("#token-input", DashboardFixture.ViewerSecret);
        await page.PressAsync("#token-input", "Enter");
        await page.WaitForSelectorAsync("#token-state:has-text('token set')");
        return (context, page, problems);
    }

    private ILocator Diff(IPage page) => page.Locator("section.diff[data-from='staging'][data-to='production']");

    private static async Task<string> TextAsync(ILocator locator) => ((await locator.TextContentAsync()) ?? string.Empty).Trim();

    [Fact]
    public async Task PipelinePage_StagingAndProductionDiffer_ShowsAddedRemovedUpgradedPackagesSizeAndBaseChange()
    {
        foreach (var (size, label) in new[] { (Desktop, "desktop"), (Phone, "phone") })
        {
            // Given production serving v1 and staging v2 of the pipeline, and a tab with a read-only token
            var (context, page, problems) = await OpenAsync(size);
            try
            {
                // When its page is opened
                await page.GotoAsync($"{fixture.Daemon.Url}/#/pipelines/{fixture.Pipeline}");
                var diff = Diff(page);
                await diff.Locator("table#apt-diff-staging-production").WaitForAsync();

                // Then the apt rows say what a promotion would add, remove and upgrade, with production's and staging's versions
                var apt = diff.Locator("table#apt-diff-staging-production");
                Assert.Equal(3, await apt.Locator("tbody tr").CountAsync());
                var added = apt.Locator("tr[data-change='added'][data-package='curl']");
                Assert.Equal(["—", "7.88.1-10+deb12u8"], [await TextAsync(added.Locator("td.old")), await TextAsync(added.Locator("td.new"))]);
                var removed = apt.Locator("tr[data-change='removed'][data-package='oldpkg']");
                Assert.Equal(["1.0-1", "—"], [await TextAsync(removed.Locator("td.old")), await TextAsync(removed.Locator("td.new"))]);
                var upgraded = apt.Locator("tr[data-change='upgraded'][data-package='hello']");
                Assert.Equal(["2.10-2", "2.10-3"], [await TextAsync(upgraded.Locator("td.old")), await TextAsync(upgraded.Locator("td.new"))]);
                Assert.Equal(0, await apt.Locator("tr[data-package='libc6']").CountAsync());

                // And the Python rows too, the markup-named package shown as its characters, not as an element
                var python = diff.Locator("table#python-diff-staging-production");
                var greet = python.Locator("tr[data-change='upgraded'][data-package='greet']");
                Assert.Equal(["1.0.0", "1.1.0"], [await TextAsync(greet.Locator("td.old")), await TextAsync(greet.Locator("td.new"))]);
                Assert.Equal("2.32.3", await TextAsync(python.Locator("tr[data-change='added'][data-package='requests'] td.new")));
                Assert.Equal(PipelineDiffFixture.MarkupName, await TextAsync(python.Locator("tr[data-change='added']").Filter(new() { HasText = "onerror" }).Locator("th")));
                Assert.Equal(0, await page.Locator("#changes img").CountAsync());

                // And the size change is staging's total minus production's, as the manifests list them, with its percentage
                var change = fixture.Staging.TotalBytes - fixture.Production.TotalBytes;
                var sizeChange = diff.Locator(".size-change");
                Assert.Equal(change.ToString(System.Globalization.CultureInfo.InvariantCulture), await sizeChange.GetAttributeAsync("data-bytes"));
                var percent = Math.Round(change * 100.0 / fixture.Production.TotalBytes, 1).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
                Assert.Contains($"+{percent}%", await TextAsync(sizeChange));

                // And the base change names both base digests
                var baseChange = diff.Locator(".base-change");
                Assert.Equal("true", await baseChange.GetAttributeAsync("data-changed"));
                Assert.Contains(PipelineDiffFixture.BaseV1[..19], await TextAsync(baseChange));
                Assert.Contains(PipelineDiffFixture.BaseV2[..19], await TextAsync(baseChange));

                // And the stages table shows each registry's digest, size and signature
                var stagingRow = page.Locator("#stages tr[data-stage='staging']");
                Assert.Equal(fixture.Staging.Digest, await stagingRow.GetAttributeAsync("data-digest"));
                Assert.Equal(fixture.Staging.TotalBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), await stagingRow.Locator("td.size").GetAttributeAsync("data-bytes"));
                Assert.Equal("✓ signed", await TextAsync(stagingRow.Locator("td.signed")));
                Assert.Equal("unsigned", await TextAsync(page.Locator("#stages tr[data-stage='production'] td.signed")));
                Assert.Equal(fixture.Production.Digest, await page.Locator("#stages tr[data-stage='production']").GetAttributeAsync("data-digest"));

                // And the page fits the width, and nothing broke or ran
                var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
                Assert.True(overflow <= 0, $"the {label} page is {overflow}px wider than the window");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, $"pipeline-diff-{label}.png"), FullPage = true });
                lock (problems)
                {
                    Assert.True(problems.Count == 0, "the page reported problems:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
                }
            }
            finally
            {
                await context.CloseAsync();
            }
        }
    }

    [Fact]
    public async Task DiffApi_StagingToProduction_IsWhatTheRegistriesHold()
    {
        // Given the two stages, When the API is asked with a read-only token
        var response = await fixture.Daemon.SendAsync(HttpMethod.Get, $"/api/pipelines/{fixture.Pipeline}/diff?from=staging&to=production", DashboardFixture.ViewerSecret);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var diff = JsonDocument.Parse(text).RootElement;

        // Then its digests are the ones pushed, what skopeo reads too, and the package changes are listed by kind
        Assert.Equal(fixture.Staging.Digest, diff.GetProperty("fromImage").GetProperty("digest").GetString());
        Assert.Equal(fixture.Production.Digest, diff.GetProperty("toImage").GetProperty("digest").GetString());
        Assert.Equal(fixture.Production.Digest, await ProcessWitness.SkopeoDigestAsync($"{DashboardFixture.Production}/{fixture.Repository}:1.0.0"));
        Assert.Equal(["curl"], diff.GetProperty("apt").GetProperty("added").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(["oldpkg"], diff.GetProperty("apt").GetProperty("removed").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(fixture.Staging.TotalBytes - fixture.Production.TotalBytes, diff.GetProperty("sizeChangeBytes").GetInt64());
        Assert.True(diff.GetProperty("baseChanged").GetBoolean());

        // And an unknown stage is a 404 naming the stages, the same stage twice a 400
        var unknown = await fixture.Daemon.SendAsync(HttpMethod.Get, $"/api/pipelines/{fixture.Pipeline}/diff?from=staging&to=qa", DashboardFixture.ViewerSecret);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("stages: staging, production", await unknown.Content.ReadAsStringAsync());
        var same = await fixture.Daemon.SendAsync(HttpMethod.Get, $"/api/pipelines/{fixture.Pipeline}/diff?from=staging&to=staging", DashboardFixture.ViewerSecret);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, same.StatusCode);

        // And without a token it is refused
        var anonymous = await fixture.Daemon.SendAsync(HttpMethod.Get, $"/api/pipelines/{fixture.Pipeline}/diff", null);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Matrix_KeyboardOnly_TabReachesThePipelineAndEnterOpensItsPage()
    {
        // Given the matrix, with the token typed in
        var (context, page, problems) = await OpenAsync(Desktop);
        try
        {
            var link = page.Locator($"#matrix a[href='#/pipelines/{fixture.Pipeline}']");
            await link.WaitForAsync();

            // When Tab is pressed from the top of the page until the pipeline's link has the focus, then Enter
            await page.Locator("body").FocusAsync();
            await page.EvaluateAsync("() => document.activeElement && document.activeElement.blur()");
            var reached = false;
            for (var presses = 0; presses < 60 && !reached; presses++)
            {
                await page.Keyboard.PressAsync("Tab");
                reached = await page.EvaluateAsync<string?>("() => document.activeElement && document.activeElement.getAttribute('href')") == $"#/pipelines/{fixture.Pipeline}";
            }

            Assert.True(reached, "Tab never reached the pipeline's link in the matrix");
            var focusVisible = await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
            await page.Keyboard.PressAsync("Enter");

            // Then its page opens on the package diff, and the focus was shown
            await Diff(page).Locator("table#apt-diff-staging-production").WaitForAsync();
            Assert.EndsWith($"#/pipelines/{fixture.Pipeline}", page.Url, StringComparison.Ordinal);
            Assert.Equal("solid", focusVisible);

            // And the history says nothing is recorded: the images came straight through the registries' API
            Assert.Contains("Nothing built yet", await page.Locator("main").TextContentAsync());
            lock (problems)
            {
                Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
            }
        }
        finally
        {
            await context.CloseAsync();
        }
    }
}
