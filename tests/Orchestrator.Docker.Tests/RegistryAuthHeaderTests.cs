using System.Text;
using System.Text.Json;
using Orchestrator.Core.Ports;

namespace Orchestrator.Docker.Tests;

public sealed class RegistryAuthHeaderTests
{
    [Fact]
    public void Encode_Anonymous_IsBase64OfEmptyObject()
    {
        Assert.Equal("e30=", RegistryAuthHeader.Encode(null));
    }

    [Fact]
    public void Encode_Credentials_IsUrlSafeBase64OfUsernameAndPassword()
    {
        // Given a password whose JSON encodes to bytes that standard base64 writes with '+' and '/'
        var credentials = new RegistryCredentials("ci-bot", "???~~~");

        // When encoded
        var header = RegistryAuthHeader.Encode(credentials);

        // Then it is URL-safe and decodes to the credentials
        Assert.DoesNotContain('+', header);
        Assert.DoesNotContain('/', header);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        Assert.Matches("[+/]", Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        using var document = JsonDocument.Parse(json);
        Assert.Equal("ci-bot", document.RootElement.GetProperty("username").GetString());
        Assert.Equal("???~~~", document.RootElement.GetProperty("password").GetString());
    }
}
