using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Core.Definitions;
using Orchestrator.Definitions.Yaml;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>Reads a pipeline's <c>validate:</c> section: command, file and metadata tests and the size limit.</summary>
internal static class ValidateReader
{
    private static readonly string[] ValidateKeys = ["commands", "files", "metadata", "max-size-mb"];
    private static readonly string[] CommandKeys = ["name", "run", "expect-exit", "expect-stdout", "expect-stderr", "timeout-seconds"];
    private static readonly string[] FileTestKeys = ["path", "exists"];
    private static readonly string[] MetadataKeys = ["user", "env", "entrypoint", "cmd", "workdir", "labels"];

    public static ValidationSpec Read(SourceFile file, MappingReader reader)
    {
        var validate = reader.Mapping("validate", ValidateKeys, what: "'validate'");
        if (validate is null)
        {
            return ValidationSpec.Empty;
        }

        var commands = new List<CommandTest>();
        var commandItems = validate.List("commands", "command tests", example: "[{ name: works, run: [\"true\"] }]");
        var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        for (var i = 0; i < (commandItems?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, commandItems![i], $"validate.commands[{i}]", CommandKeys);
            if (item is null)
            {
                continue;
            }

            var name = item.String("name", required: true, example: "interpreter works");
            if (name is { } n)
            {
                if (names.TryGetValue(n.Value, out var first))
                {
                    file.Error(n.Node, $"command test name '{n.Value}' is used twice (first at line {first.Start.Line}); results are reported by name", "give each test its own name");
                }
                else
                {
                    names[n.Value] = n.Node;
                }
            }

            var run = item.StringList("run", required: true, example: "[\"python3\", \"-c\", \"print(6*7)\"]");
            if (run is { Count: 0 })
            {
                file.Error(item.Raw("run")!, $"'run' in validate.commands[{i}] is empty; there is nothing to run", "give the argument vector, e.g. 'run: [\"python3\", \"--version\"]'");
            }

            var exit = item.Int("expect-exit", "0");
            if (exit is { } e && e.Value is < 0 or > 255)
            {
                file.Error(e.Node, $"expect-exit {e.Value} is not an exit code", "use a number from 0 to 255");
            }

            var stdout = Pattern(file, item.String("expect-stdout", example: "\"^42$\""), "expect-stdout");
            var stderr = Pattern(file, item.String("expect-stderr", example: "\"^$\""), "expect-stderr");
            var timeout = item.Int("timeout-seconds", "60");
            if (timeout is { } t && t.Value <= 0)
            {
                file.Error(t.Node, $"timeout-seconds {t.Value} must be greater than 0", "write e.g. 'timeout-seconds: 60', or leave it out for 60");
            }

            if (name is not null && run is { Count: > 0 })
            {
                commands.Add(new CommandTest(name.Value.Value, run.Select(r => r.Value).ToList(), exit?.Value ?? 0, stdout, stderr,
                    timeout is { Value: > 0 } ? TimeSpan.FromSeconds(timeout.Value.Value) : PipelineReader.DefaultTimeout));
            }
        }

        var fileTests = new List<FileTest>();
        var fileItems = validate.List("files", "file tests", example: "[{ path: /app/main.py }]");
        for (var i = 0; i < (fileItems?.Count ?? 0); i++)
        {
            var item = MappingReader.Of(file, fileItems![i], $"validate.files[{i}]", FileTestKeys);
            var path = PipelineFiles.AbsolutePath(file, item?.String("path", required: true, example: "/app/main.py"), "path");
            var exists = item?.Bool("exists");
            if (path is not null)
            {
                fileTests.Add(new FileTest(path, exists ?? true));
            }
        }

        MetadataExpectation? metadata = null;
        if (validate.Mapping("metadata", MetadataKeys, what: "validate.metadata") is { } meta)
        {
            var envMap = meta.StringMap("env", allowEmptyValues: false);
            var labelMap = meta.StringMap("labels", allowEmptyValues: false);
            metadata = new MetadataExpectation(
                meta.String("user", example: "\"10001\"")?.Value,
                envMap is null ? null : PipelineReader.ReadEnv(file, envMap, "validate.metadata.env"),
                meta.StringList("entrypoint")?.Select(e => e.Value).ToList(),
                meta.StringList("cmd")?.Select(c => c.Value).ToList(),
                PipelineFiles.AbsolutePath(file, meta.String("workdir", example: "/app"), "workdir"),
                labelMap is null ? null : PipelineReader.ReadLabels(file, labelMap));
        }

        var maxSize = validate.Number("max-size-mb", "120");
        if (maxSize is { } m && m.Value <= 0)
        {
            file.Error(m.Node, $"max-size-mb {m.Value.ToString(CultureInfo.InvariantCulture)} must be greater than 0", "write the largest size you accept in MiB, e.g. 'max-size-mb: 120'");
        }

        return new ValidationSpec(commands, fileTests, metadata, maxSize is { Value: > 0 } size ? size.Value : null);
    }

    private static string? Pattern(SourceFile file, Located<string>? text, string key)
    {
        if (text is not { } pattern)
        {
            return null;
        }

        try
        {
            _ = new Regex(pattern.Value, RegexOptions.Multiline, TimeSpan.FromSeconds(1));
            return pattern.Value;
        }
        catch (ArgumentException e)
        {
            file.Error(pattern.Node, $"{key} '{pattern.Value}' is not a valid .NET regular expression: {e.Message}",
                "fix the pattern; quote it in YAML, and escape literal characters like '(' or '+' with '\\\\'");
            return null;
        }
    }
}
