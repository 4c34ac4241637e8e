using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Orchestrator.Definitions.Yaml;

/// <summary>
/// Drops the second and later occurrences of a scalar key in a mapping, reporting each, before the
/// events reach <see cref="YamlDotNet.RepresentationModel.YamlStream"/>: the representation model
/// throws on the first duplicate, which would hide every other problem in the file.
/// </summary>
internal sealed class DuplicateKeyFilter(IParser inner, Action<Scalar, Mark> onDuplicate) : IParser
{
    private readonly Stack<Frame> frames = new();

    public ParsingEvent? Current => inner.Current;

    /// <summary>Where the last event read ended: the best position when the parser itself crashes.</summary>
    public Mark LastGoodMark { get; private set; } = Mark.Empty;

    public bool MoveNext()
    {
        while (inner.MoveNext())
        {
            LastGoodMark = inner.Current?.End ?? LastGoodMark;
            switch (inner.Current)
            {
                case Scalar key when frames.TryPeek(out var frame) && frame.IsMapping && frame.ExpectKey:
                    if (frame.Seen.TryGetValue(key.Value, out var first))
                    {
                        onDuplicate(key, first);
                        SkipNode();
                        continue;
                    }

                    frame.Seen.Add(key.Value, key.Start);
                    Completed();
                    return true;
                case Scalar or AnchorAlias:
                    Completed();
                    return true;
                case MappingStart or SequenceStart when frames.Count >= DefinitionLimits.MaxDepth:
                    throw new NestingTooDeepException(inner.Current.Start);
                case MappingStart:
                    frames.Push(new Frame(true));
                    return true;
                case SequenceStart:
                    frames.Push(new Frame(false));
                    return true;
                case MappingEnd or SequenceEnd:
                    frames.Pop();
                    Completed();
                    return true;
                default:
                    return true;
            }
        }

        return false;
    }

    /// <summary>A node just ended: in a mapping, keys and values alternate.</summary>
    private void Completed()
    {
        if (frames.TryPeek(out var frame) && frame.IsMapping)
        {
            frame.ExpectKey = !frame.ExpectKey;
        }
    }

    /// <summary>Consumes the value after a dropped key, however deep it is.</summary>
    private void SkipNode()
    {
        if (!inner.MoveNext())
        {
            return;
        }

        if (inner.Current is not (MappingStart or SequenceStart))
        {
            return;
        }

        var depth = 1;
        while (depth > 0 && inner.MoveNext())
        {
            depth += inner.Current switch
            {
                MappingStart or SequenceStart => 1,
                MappingEnd or SequenceEnd => -1,
                _ => 0,
            };
        }
    }

    private sealed class Frame(bool isMapping)
    {
        public bool IsMapping { get; } = isMapping;

        public bool ExpectKey { get; set; } = true;

        public Dictionary<string, Mark> Seen { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>Lists and mappings nested deeper than <see cref="DefinitionLimits.MaxDepth"/>, at <see cref="At"/>.</summary>
internal sealed class NestingTooDeepException(Mark at) : Exception("nested too deep")
{
    public Mark At { get; } = at;
}
