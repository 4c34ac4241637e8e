using System.Net;
using System.Text.Json;

namespace Orchestrator.Registry;

/// <summary>
/// A registry's error answers (distribution spec v1.1 "Error Codes"): the first <c>{"errors":[{"code","message"}]}</c>
/// entry of the body, and what each code asks the user to do.
/// </summary>
internal static class RegistryErrors
{
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>The first error code and its message, or nulls when the body has none (or is not JSON, or is too long).</summary>
    public static async Task<(string? Code, string? Message)> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ResponseBodies.ReadLimitedAsync(response, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
            if (body is null || body.Length == 0)
            {
                return (null, null);
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errors", out var errors)
                && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var error in errors.EnumerateArray())
                {
                    var code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
                    var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
                    if (code is not null)
                    {
                        return (code, message);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or HttpRequestException or IOException)
        {
            // A malformed error body must not hide the status it came with.
        }

        return (null, null);
    }

    /// <summary>What to do about <paramref name="code"/> (or, without one, <paramref name="status"/>), as the end of an error message.</summary>
    public static string Hint(string? code, HttpStatusCode status) => code switch
    {
        "MANIFEST_UNKNOWN" => "the registry has no such manifest: check the tag or digest, or push the image first",
        "NAME_UNKNOWN" => "the repository does not exist in this registry: check its name, or push the image first",
        "BLOB_UNKNOWN" => "the registry has no such blob: push the image again so its layers are complete",
        "MANIFEST_BLOB_UNKNOWN" => "a blob the manifest references is missing in the target: copy the blobs before the manifest (rerun the copy)",
        "MANIFEST_INVALID" => "the registry rejected the manifest's content: check it references only pushed blobs and valid descriptors",
        "DIGEST_INVALID" => "the bytes received do not hash to the digest: the source content is corrupt or was altered in transit; retry",
        "SIZE_INVALID" => "the bytes received do not match the announced size: retry the copy",
        "BLOB_UPLOAD_UNKNOWN" or "BLOB_UPLOAD_INVALID" => "the upload session expired or broke: retry the copy",
        "NAME_INVALID" => "the repository name is invalid: use lower-case path components",
        "TAG_INVALID" => "the tag is invalid: use letters, digits, '_', '.' or '-'",
        "UNSUPPORTED" when status == HttpStatusCode.MethodNotAllowed => "the registry does not allow this operation (deletes may be disabled: set storage.delete.enabled)",
        "UNSUPPORTED" => "the registry does not support this operation",
        "DENIED" => "access denied: check the account behind this registry's credentials may push and pull this repository",
        "UNAUTHORIZED" => "authentication required: configure this registry's credentials",
        "TOOMANYREQUESTS" => "the registry is rate-limiting: wait and retry the job",
        _ when (int)status >= 500 => "the registry failed internally: check its logs and retry the job",
        _ => "check the reference and the registry's logs",
    };
}
