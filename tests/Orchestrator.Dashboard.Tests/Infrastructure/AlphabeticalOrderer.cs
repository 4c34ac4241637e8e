using Xunit.Abstractions;
using Xunit.Sdk;

namespace Orchestrator.Dashboard.Tests.Infrastructure;

/// <summary>
/// Runs a class's tests in the order of their method names. The browser tests share one workspace whose production
/// stage a test changes (the promotion), so the read-only refusal must run before it, on a production still empty.
/// </summary>
public sealed class AlphabeticalOrderer : ITestCaseOrderer
{
    public const string Name = "Orchestrator.Dashboard.Tests.Infrastructure.AlphabeticalOrderer";

    public const string Assembly = "Orchestrator.Dashboard.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}
