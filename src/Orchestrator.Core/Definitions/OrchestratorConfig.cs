namespace Orchestrator.Core.Definitions;

/// <summary>
/// orchestrator.yaml: where the engine and the registries are, the ordered stages an image moves
/// through, and where state and definitions live. Every path is absolute, resolved against the
/// folder holding the config file.
/// </summary>
/// <param name="SourceFile">The config file it was read from.</param>
/// <param name="RootDirectory">The folder holding the config file.</param>
/// <param name="Engine">The Docker Engine endpoint.</param>
/// <param name="Stages">The stages in promotion order; the first is where builds are pushed (staging).</param>
/// <param name="StatePath">The SQLite state file (when <see cref="Postgres"/> is null); its folder also holds logs and base root filesystems.</param>
/// <param name="BaseImagesDirectory">The folder of base image definitions (<c>*.yaml</c>).</param>
/// <param name="PipelinesDirectory">The folder of pipeline definitions (<c>*.yaml</c>, not <c>*.lock.yaml</c>).</param>
/// <param name="WorkDirectory">Scratch space for base root filesystems and build contexts.</param>
public sealed record OrchestratorConfig(
    string SourceFile,
    string RootDirectory,
    EngineSettings Engine,
    IReadOnlyList<StageDefinition> Stages,
    string StatePath,
    string BaseImagesDirectory,
    string PipelinesDirectory,
    string WorkDirectory)
{
    /// <summary>The <c>daemon:</c> section; defaults when the file has none.</summary>
    public DaemonSettings Daemon { get; init; } = DaemonSettings.Default;

    /// <summary>The <c>signing:</c> section, or null when validated digests are not signed. <value>The default is null.</value></summary>
    public SigningSettings? Signing { get; init; }

    /// <summary>The <c>state: postgres:</c> section: state and jobs in PostgreSQL; null for the SQLite file at <see cref="StatePath"/>.</summary>
    public PostgresSettings? Postgres { get; init; }

    /// <summary>
    /// The <c>engines:</c> list as written: the pool builds and validations are placed on. <value>The default is empty: the pool
    /// is the one <see cref="Engine"/> (see <see cref="EnginePool"/>).</value>
    /// </summary>
    public IReadOnlyList<EngineDefinition> Engines { get; init; } = [];

    /// <summary>
    /// The engines in effect: <see cref="Engines"/> when written, else <see cref="Engine"/> as a pool of one named
    /// <see cref="EngineDefinition.DefaultName"/> with <c>daemon.concurrency</c> slots (so a config without <c>engines:</c> runs as before).
    /// </summary>
    public IReadOnlyList<EngineDefinition> EnginePool =>
        Engines.Count > 0 ? Engines : [new EngineDefinition(EngineDefinition.DefaultName, Engine.Endpoint, Math.Max(1, Daemon.Concurrency))];

    /// <summary>The first stage: builds are pushed here and validated here.</summary>
    public StageDefinition FirstStage => Stages[0];

    /// <summary>The stage named <paramref name="name"/>, or null.</summary>
    public StageDefinition? FindStage(string name) => Stages.FirstOrDefault(s => s.Name == name);

    /// <summary>The stage after <paramref name="stage"/> in promotion order, or null for the last one.</summary>
    public StageDefinition? NextStage(StageDefinition stage)
    {
        var index = Stages.ToList().FindIndex(s => s.Name == stage.Name);
        return index >= 0 && index + 1 < Stages.Count ? Stages[index + 1] : null;
    }
}

/// <summary>The Docker Engine endpoint: <c>unix:///var/run/docker.sock</c> or <c>tcp://host:port</c>. <c>DOCKER_HOST</c> overrides it, as in the docker CLI.</summary>
public sealed record EngineSettings(string Endpoint)
{
    /// <summary>The default endpoint of a Linux engine.</summary>
    public const string DefaultEndpoint = "unix:///var/run/docker.sock";
}

/// <summary>A stage (staging, production, …) and the registry that holds its images.</summary>
public sealed record StageDefinition(string Name, RegistryEndpoint Registry)
{
    /// <summary>
    /// The stage's <c>require-signature</c> keys: promoting into it needs a valid cosign signature of the digest by
    /// one of them in the source stage. <value>The default is none: no signature is required.</value>
    /// </summary>
    public IReadOnlyList<Signing.VerificationKey> RequiredSignatureKeys { get; init; } = [];
}

/// <summary>
/// An OCI registry: its host (<c>127.0.0.1:5001</c>), whether it speaks plain HTTP, and where its
/// credentials come from. Secrets are never held in definitions, only the names of the environment
/// variables that carry them.
/// </summary>
/// <param name="Host">host[:port], as it appears in image references.</param>
/// <param name="PlainHttp">True for http://, false for https://.</param>
/// <param name="UsernameEnv">Environment variable holding the user name, or null for anonymous access.</param>
/// <param name="PasswordEnv">Environment variable holding the password or token, or null.</param>
public sealed record RegistryEndpoint(string Host, bool PlainHttp, string? UsernameEnv = null, string? PasswordEnv = null)
{
    /// <summary>
    /// The TLS settings written for this registry (<c>ca-file</c>, <c>cert-file</c>, <c>key-file</c>, <c>insecure</c>);
    /// <see cref="RegistryTls.None"/> when none are, and then an https registry is verified against the system trust store
    /// and docker's <c>certs.d</c> folder for <see cref="Host"/>.
    /// </summary>
    public RegistryTls Tls { get; init; } = RegistryTls.None;

    /// <summary>The base URI, <c>http://127.0.0.1:5001/</c>.</summary>
    public Uri BaseUri => new($"{(PlainHttp ? "http" : "https")}://{Host}/");

    /// <summary>
    /// An endpoint for a registry named only by host, as in an upstream <c>from:</c> reference:
    /// loopback hosts speak plain HTTP (as the Docker Engine assumes for 127.0.0.0/8), others HTTPS.
    /// </summary>
    public static RegistryEndpoint ForHost(string host)
    {
        var name = host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':')[0];
        var loopback = name is "localhost" or "[::1]" || name.StartsWith("127.", StringComparison.Ordinal);
        return new RegistryEndpoint(host, loopback);
    }
}

/// <summary>
/// How Orchestrator speaks TLS to one registry, as written in orchestrator.yaml. Paths are absolute. A value record, so
/// a <see cref="RegistryEndpoint"/> stays usable as a dictionary key.
/// </summary>
/// <param name="CaFile">A PEM bundle of CA certificates trusted for this registry in addition to the system trust store (<c>ca-file:</c>), or null.</param>
/// <param name="CertFile">A PEM client certificate presented to the registry (<c>cert-file:</c>), or null; set together with <paramref name="KeyFile"/>.</param>
/// <param name="KeyFile">The unencrypted PEM private key of <paramref name="CertFile"/> (<c>key-file:</c>), or null.</param>
/// <param name="Insecure">
/// <c>insecure: true</c>: the registry's certificate is not verified at all (and credentials may go over plain http://
/// to a host that is not loopback). Only ever true when written.
/// </param>
public sealed record RegistryTls(string? CaFile = null, string? CertFile = null, string? KeyFile = null, bool Insecure = false)
{
    /// <summary>Nothing written: the system trust store (and certs.d), no client certificate, verification on.</summary>
    public static RegistryTls None { get; } = new();
}
