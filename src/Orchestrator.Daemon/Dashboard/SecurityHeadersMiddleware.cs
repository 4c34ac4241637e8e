using Microsoft.AspNetCore.Http;

namespace Orchestrator.Daemon.Dashboard;

/// <summary>
/// Puts the dashboard's browser protections on every response, pages and API alike (a JSON answer opened in a tab is
/// a page too): a strict Content-Security-Policy (scripts, styles and fetches from this origin only, no inline code, no
/// framing, no forms, no base changes), <c>X-Content-Type-Options: nosniff</c> and <c>Referrer-Policy: no-referrer</c>.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    /// <summary>The policy; the pages are written for it (no inline script, style or handler, values set with textContent).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        // Set before the endpoint runs: a streamed response (server-sent events) has sent its headers before it ends.
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        return next(context);
    }
}
