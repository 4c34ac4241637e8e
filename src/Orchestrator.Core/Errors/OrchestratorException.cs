namespace Orchestrator.Core.Errors;

/// <summary>
/// The root of Orchestrator's errors. Every message says what is wrong and what to do next;
/// <see cref="ExitCode"/> is what the CLI exits with: 1 when a job failed or was refused,
/// 2 when the input was bad.
/// </summary>
public abstract class OrchestratorException : Exception
{
    protected OrchestratorException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>The process exit code this error maps to.</summary>
    public abstract int ExitCode { get; }
}

/// <summary>Exit codes of the CLI.</summary>
public static class ExitCodes
{
    /// <summary>The job is done.</summary>
    public const int Success = 0;

    /// <summary>The job failed or was refused (validation failed, tag conflict, unreachable engine or registry).</summary>
    public const int JobFailed = 1;

    /// <summary>Bad input or usage (definition errors, unknown pipeline, malformed digest).</summary>
    public const int BadInput = 2;
}

/// <summary>Bad input from a user: a malformed argument, an unknown name. Exit code 2.</summary>
public class InputException(string message, Exception? innerException = null) : OrchestratorException(message, innerException)
{
    public override int ExitCode => ExitCodes.BadInput;
}

/// <summary>A job that ran and failed, or that a policy refused to run. Exit code 1.</summary>
public class JobFailedException(string message, Exception? innerException = null) : OrchestratorException(message, innerException)
{
    public override int ExitCode => ExitCodes.JobFailed;
}

/// <summary>A job refused by policy before it changed anything (no passing validation, a tag that would move).</summary>
public sealed class JobRefusedException(string message) : JobFailedException(message);
