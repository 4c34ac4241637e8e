using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Runs the independent witnesses — skopeo and the docker CLI — that tests check the product against.
/// The product itself never calls them.
/// </summary>
internal static class ProcessWitness
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The digest skopeo reads for <paramref name="reference"/> (a docker:// reference without the transport).</summary>
    public static async Task<string> SkopeoDigestAsync(string reference)
    {
        var result = await RunAsync("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", $"docker://{reference}");
        Assert.True(result.ExitCode == 0, $"skopeo inspect {reference} failed: {result.Stderr}");
        return result.Stdout.Trim();
    }

    /// <summary>True when skopeo finds <paramref name="reference"/>.</summary>
    public static async Task<bool> SkopeoExistsAsync(string reference) =>
        (await RunAsync("skopeo", "inspect", "--tls-verify=false", "--raw", $"docker://{reference}")).ExitCode == 0;

    /// <summary>The labels skopeo reads from the image config of <paramref name="reference"/>.</summary>
    public static async Task<string> SkopeoInspectAsync(string reference)
    {
        var result = await RunAsync("skopeo", "inspect", "--tls-verify=false", $"docker://{reference}");
        Assert.True(result.ExitCode == 0, $"skopeo inspect {reference} failed: {result.Stderr}");
        return result.Stdout;
    }

    /// <summary><c>docker run --rm --network none IMAGE ARGS…</c>.</summary>
    public static Task<Result> DockerRunAsync(string image, params string[] command) =>
        RunAsync("docker", ["run", "--rm", "--network", "none", image, .. command]);

    /// <summary><c>docker run --rm --network none --entrypoint sh IMAGE -c SCRIPT</c>.</summary>
    public static Task<Result> DockerShellAsync(string image, string script) =>
        RunAsync("docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", image, "-c", script);
}
