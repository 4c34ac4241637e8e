using Orchestrator.Registry.Auth;

namespace Orchestrator.Registry.Tests.Auth;

public sealed class AuthParametersTests
{
    [Fact]
    public void Parse_QuotedCommas_KeptInsideValues()
    {
        // Given a challenge whose scope holds a comma
        var parameters = AuthParameters.Parse("realm=\"https://a/t\",service=\"r\",scope=\"repository:x:pull,push\"");

        // Then the scope is one value
        Assert.Equal("repository:x:pull,push", parameters["scope"]);
        Assert.Equal("https://a/t", parameters["realm"]);
        Assert.Equal("r", parameters["service"]);
    }

    [Fact]
    public void Parse_UnquotedValuesAndEscapes_ReadAsRfc7235Says()
    {
        // Given unquoted values, odd spacing and a backslash-escaped quote
        var parameters = AuthParameters.Parse(" realm=https://a/t ,  error=\"insufficient_scope\", note=\"say \\\"hi\\\"\"");

        // Then each value is read whole, case-insensitively by key, with the escape resolved
        Assert.Equal("https://a/t", parameters["REALM"]);
        Assert.Equal("insufficient_scope", parameters["error"]);
        Assert.Equal("say \"hi\"", parameters["note"]);
    }
}
