using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;

namespace Orchestrator.Daemon.Hosting;

/// <summary>The daemon's logs: Serilog to the console and to a daily rolling JSON file.</summary>
public static class DaemonLogging
{
    /// <summary>
    /// A logger factory writing to standard error and to <c><paramref name="logDirectory"/>/daemon-YYYYMMDD.json</c>
    /// (one JSON event per line, 14 files kept). Dispose it to flush.
    /// </summary>
    public static ILoggerFactory CreateLoggerFactory(string logDirectory, bool verbose = false)
    {
        Directory.CreateDirectory(logDirectory);
        var level = verbose ? LogEventLevel.Debug : LogEventLevel.Information;
        var serilog = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext()
            .WriteTo.File(new JsonFormatter(renderMessage: true), Path.Combine(logDirectory, "daemon-.json"), rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true)
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        return new SerilogLoggerFactory(serilog, dispose: true);
    }
}
