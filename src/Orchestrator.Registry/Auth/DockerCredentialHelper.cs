using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Orchestrator.Core.Errors;

namespace Orchestrator.Registry.Auth;

/// <summary>
/// Runs a docker credential helper (docker/docker-credential-helpers, "client" protocol): <c>docker-credential-NAME get</c>
/// found on PATH, the server URL on standard input, <c>{"ServerURL","Username","Secret"}</c> on standard output.
/// A non-zero exit with <c>credentials not found</c> on standard output means the helper has none; a <c>Username</c>
/// of <c>&lt;token&gt;</c> means <c>Secret</c> is an identity token. The helper's output never reaches a log line or an
/// error message (it may hold the secret, or echo it); only its name and exit code do.
/// </summary>
internal sealed class DockerCredentialHelper
{
    private const string NotFound = "credentials not found";
    private const int MaxOutputChars = 1024 * 1024;

    private readonly Func<string, string?> _environment;
    private readonly TimeSpan _timeout;

    /// <param name="environment">Reads a variable: PATH, where the helper is looked up.</param>
    /// <param name="timeout">How long a helper may run before it is killed.</param>
    public DockerCredentialHelper(Func<string, string?> environment, TimeSpan timeout)
    {
        _environment = environment;
        _timeout = timeout;
    }

    /// <summary>The credential helper <paramref name="name"/> holds for <paramref name="serverUrl"/>; null when it has none.</summary>
    /// <param name="name">The helper's suffix: <c>ecr-login</c> runs <c>docker-credential-ecr-login</c>.</param>
    /// <param name="serverUrl">What to ask for: the registry host, or <c>https://index.docker.io/v1/</c>.</param>
    /// <param name="origin">Where the helper was named (<c>credsStore in PATH</c>), for the error messages.</param>
    /// <param name="cancellationToken">Stops waiting and kills the helper.</param>
    /// <exception cref="RegistryException">The helper is not on PATH, fails, times out or answers something other than the protocol's JSON.</exception>
    public async Task<RegistryCredential?> GetAsync(string name, string serverUrl, string origin, CancellationToken cancellationToken = default)
    {
        var program = "docker-credential-" + name;
        var path = Resolve(program)
            ?? throw Failure($"{program} is not on PATH (named by the {origin}): install it, or remove that entry from docker's config.json");

        var start = new ProcessStartInfo(path, ["get"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw Failure($"{program} could not be started: check that it is executable");
        }
        catch (Win32Exception ex)
        {
            throw Failure($"{program} could not be started ({ex.NativeErrorCode}): check that {path} is executable");
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                // stderr is read only so a chatty helper cannot block on a full pipe; it is never shown.
                var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.StandardInput.WriteAsync(serverUrl.AsMemory(), timeout.Token).ConfigureAwait(false);
                process.StandardInput.Close();
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                var output = await stdout.ConfigureAwait(false);
                await stderr.ConfigureAwait(false);
                return Interpret(program, process.ExitCode, output);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Kill(process);
                throw Failure($"{program} did not answer within {_timeout.TotalSeconds:0} s for {serverUrl}: check that it runs without asking for input (run '{program} get' by hand)");
            }
            catch (IOException)
            {
                // The helper exited before reading its input (a broken pipe): it failed.
                Kill(process);
                throw Failure($"{program} ended before reading the server URL: run 'echo {serverUrl} | {program} get' by hand to see why");
            }
            catch
            {
                Kill(process);
                throw;
            }
        }
    }

    private static RegistryCredential? Interpret(string program, int exitCode, string output)
    {
        if (exitCode != 0)
        {
            if (output.Contains(NotFound, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw Failure($"{program} get failed (exit {exitCode}): run it by hand to see why (its output is not shown, it may hold a secret)");
        }

        if (output.Length > MaxOutputChars)
        {
            throw Failure($"{program} answered more than {MaxOutputChars} characters: it does not speak the credential helper protocol");
        }

        CredentialHelperAnswer? answer;
        try
        {
            answer = JsonSerializer.Deserialize(output, DockerConfigJsonContext.Default.CredentialHelperAnswer);
        }
        catch (JsonException)
        {
            throw Failure($"{program} get answered something that is not JSON: it does not speak the credential helper protocol");
        }

        if (answer is null || string.IsNullOrEmpty(answer.Secret))
        {
            return null;
        }

        return answer.Username == "<token>"
            ? new RegistryCredential("<token>", answer.Secret, IsIdentityToken: true)
            : string.IsNullOrEmpty(answer.Username)
                ? throw Failure($"{program} get answered a secret without a Username: fix the helper's stored entry")
                : new RegistryCredential(answer.Username, answer.Secret);
    }

    private string? Resolve(string program)
    {
        foreach (var folder in (_environment("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static RegistryException Failure(string message) => new(message, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
}
