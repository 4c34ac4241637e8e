using System.Text;

namespace Orchestrator.Registry.Auth;

/// <summary>The auth-params of a <c>WWW-Authenticate</c> challenge (RFC 7235 section 2.1), e.g. a bearer challenge's realm, service and scope.</summary>
internal static class AuthParameters
{
    /// <summary>Parses <c>key="value", key2=value2</c> auth-params (RFC 7235 §2.1), honouring quotes and backslash escapes.</summary>
    public static Dictionary<string, string> Parse(string? parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(parameter))
        {
            return result;
        }

        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var keyStart = i;
            while (i < parameter.Length && parameter[i] != '=' && parameter[i] != ',')
            {
                i++;
            }

            var key = parameter[keyStart..i].Trim();
            if (i >= parameter.Length || parameter[i] != '=')
            {
                continue;
            }

            i++;
            var value = new StringBuilder();
            if (i < parameter.Length && parameter[i] == '"')
            {
                i++;
                while (i < parameter.Length && parameter[i] != '"')
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    value.Append(parameter[i]);
                    i++;
                }

                i++;
            }
            else
            {
                while (i < parameter.Length && parameter[i] != ',')
                {
                    value.Append(parameter[i]);
                    i++;
                }
            }

            if (key.Length > 0)
            {
                result[key] = value.ToString().Trim();
            }
        }

        return result;
    }
}
