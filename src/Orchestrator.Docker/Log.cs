using Microsoft.Extensions.Logging;

namespace Orchestrator.Docker;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Pulling {Reference} from {Endpoint}")]
    public static partial void PullStarting(ILogger logger, string reference, string endpoint);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Pulled {Reference}")]
    public static partial void PullDone(ILogger logger, string reference);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Pushing {Repository}:{Tag} through {Endpoint}")]
    public static partial void PushStarting(ILogger logger, string repository, string tag, string endpoint);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Pushed {Repository}:{Tag} as {Digest}")]
    public static partial void PushDone(ILogger logger, string repository, string tag, string digest);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Building {Tags} on {Endpoint}")]
    public static partial void BuildStarting(ILogger logger, string tags, string endpoint);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Built {ImageId} ({Tags})")]
    public static partial void BuildDone(ILogger logger, string imageId, string tags);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Importing a root filesystem as {Repository}:{Tag} on {Endpoint}")]
    public static partial void ImportStarting(ILogger logger, string repository, string tag, string endpoint);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Imported {Repository}:{Tag} as {ImageId}")]
    public static partial void ImportDone(ILogger logger, string repository, string tag, string imageId);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "Engine stream {Operation}: {Line}")]
    public static partial void StreamLine(ILogger logger, string operation, string line);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Retrying the {Operation} on {Endpoint} (attempt {Attempt}) after {Reason}")]
    public static partial void Retrying(ILogger logger, string operation, string endpoint, int attempt, string reason);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Created container {ContainerId} from {Image}")]
    public static partial void ContainerCreated(ILogger logger, string containerId, string image);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "The engine warned while creating container {ContainerId}: {Warning}")]
    public static partial void ContainerWarning(ILogger logger, string containerId, string warning);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Debug, Message = "{Operation} found nothing to do on {Endpoint} (HTTP {StatusCode})")]
    public static partial void AlreadyDone(ILogger logger, string operation, string endpoint, int statusCode);
}
