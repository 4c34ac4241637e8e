using Microsoft.AspNetCore.Http;
using Orchestrator.Core.Jobs;
using Orchestrator.Daemon.Api;
using Orchestrator.Daemon.Hosting;

namespace Orchestrator.Daemon.Auth;

/// <summary>
/// Guards <c>/api</c>: 401 without a known bearer token (with <c>WWW-Authenticate: Bearer</c>), 403 for a
/// read without the <c>read</c> role. Job roles depend on the body, so the job endpoints check those.
/// <c>/healthz</c>, <c>/metrics</c> and the dashboard's static pages (which hold no data) are open. With
/// <c>daemon.dashboard.public-read: true</c> a GET or HEAD without an <c>Authorization</c> header is let through as
/// <see cref="PublicReader"/> (the <c>read</c> role only); a header that is present is still checked, and every
/// write still needs a token.
/// </summary>
internal sealed class TokenAuthMiddleware(RequestDelegate next, TokenAuthenticator authenticator, DaemonOptions options)
{
    private const string CallerKey = "orchestrator.caller";

    /// <summary>The caller of an anonymous read under public read: the <c>read</c> role and nothing else.</summary>
    public static readonly Caller PublicReader = new("public", new HashSet<string>(StringComparer.Ordinal) { JobAuthorization.Read });

    public static Caller GetCaller(HttpContext context) =>
        context.Items[CallerKey] as Caller ?? throw new InvalidOperationException("no authenticated caller on an /api request");

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var isRead = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        var caller = authenticator.Authenticate(context.Request.Headers.Authorization.ToString());
        if (caller is null && isRead && context.Request.Headers.Authorization.Count == 0 && options.Settings.DashboardPublicRead)
        {
            caller = PublicReader;
        }

        if (caller is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            var message = context.Request.Headers.Authorization.Count == 0
                ? "no token: send 'Authorization: Bearer <secret>' with a token declared under daemon.tokens in orchestrator.yaml"
                : "unknown token: the bearer secret matches no enabled token under daemon.tokens (check the environment variable its secret-env names on the daemon)";
            await ApiJson.Error(StatusCodes.Status401Unauthorized, message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (isRead && !caller.Has(JobAuthorization.Read))
        {
            await ApiJson.Error(StatusCodes.Status403Forbidden, $"token '{caller.Name}' lacks the role '{JobAuthorization.Read}' needed to read; add it to the token's roles in orchestrator.yaml")
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Items[CallerKey] = caller;
        await next(context).ConfigureAwait(false);
    }
}
