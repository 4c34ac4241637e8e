using System.Text.Json;
using Orchestrator.Core.Workflows;

namespace Orchestrator.Core.Tests.Workflows;

public sealed class JsonTextTests
{
    public static TheoryData<string> Strings => new() { "", "plain", "quote \" and \\ backslash", "it's <b>&</b> +1", "tab\tnew\nline", "é ü 中文 🙂", "\u0001\u007f" };

    [Theory]
    [MemberData(nameof(Strings))]
    public void Quote_AnyString_IsWhatTheReflectionSerializerWrote(string value)
    {
        // Given a string; When it is quoted; Then the bytes are those JsonSerializer.Serialize gave (generated Dockerfiles and cache keys depend on them)
        Assert.Equal(JsonSerializer.Serialize(value), JsonText.Quote(value));
    }

    [Fact]
    public void Array_Strings_IsWhatTheReflectionSerializerWrote()
    {
        // Given strings with characters that need escaping; When written as an array; Then the bytes match
        string[] values = ["/bin/sh", "-c", "echo \"it's\" <ok> & done", "é"];
        Assert.Equal(JsonSerializer.Serialize(values), JsonText.Array(values));
        Assert.Equal("[]", JsonText.Array([]));
    }
}
