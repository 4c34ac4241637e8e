using CsCheck;

namespace Orchestrator.Tests.Properties;

/// <summary>
/// Draws a fixed number of values from a CsCheck generator with a fixed seed, so a property test checks
/// the same inputs on every run and machine (Check.Sample seeds only its first iteration). A failure names
/// the value and its CsCheck seed: <c>Check.Sample(gen, assert, seed: "…", iter: 1)</c> replays it.
/// Linked into every test project with property tests.
/// </summary>
internal static class SeededSample
{
    /// <summary>Runs <paramref name="assert"/> on <paramref name="iterations"/> values of <paramref name="gen"/>, derived from <paramref name="seed"/>.</summary>
    public static void Run<T>(Gen<T> gen, Action<T> assert, int iterations, ulong seed, Func<T, string>? print = null)
    {
        var seeds = new PCG(1, seed);
        for (var i = 0; i < iterations; i++)
        {
            var pcg = new PCG(1, seeds.Next64());
            var replay = pcg.ToString();
            var value = gen.Generate(pcg, null, out _);
            try
            {
                assert(value);
            }
            catch (Exception exception)
            {
                throw new PropertyFailedException(
                    $"iteration {i + 1} of {iterations} (CsCheck seed \"{replay}\") failed for {Describe(value, print)}: {exception.GetType().Name}: {exception.Message}", exception);
            }
        }
    }

    /// <summary>The asynchronous form of <see cref="Run{T}"/>, one value at a time.</summary>
    public static async Task RunAsync<T>(Gen<T> gen, Func<T, Task> assert, int iterations, ulong seed, Func<T, string>? print = null)
    {
        var seeds = new PCG(1, seed);
        for (var i = 0; i < iterations; i++)
        {
            var pcg = new PCG(1, seeds.Next64());
            var replay = pcg.ToString();
            var value = gen.Generate(pcg, null, out _);
            try
            {
                await assert(value);
            }
            catch (Exception exception)
            {
                throw new PropertyFailedException(
                    $"iteration {i + 1} of {iterations} (CsCheck seed \"{replay}\") failed for {Describe(value, print)}: {exception.GetType().Name}: {exception.Message}", exception);
            }
        }
    }

    private static string Describe<T>(T value, Func<T, string>? print)
    {
        var text = print is null ? Check.Print(value) : print(value);
        // Escape control characters so the failing input can be read (and pasted) from a test log.
        return System.Text.Json.JsonSerializer.Serialize(text);
    }
}

/// <summary>A property did not hold for one generated value; the message names the value and its seed.</summary>
internal sealed class PropertyFailedException(string message, Exception inner) : Exception(message, inner);
