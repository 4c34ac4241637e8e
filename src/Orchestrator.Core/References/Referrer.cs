using Orchestrator.Core.Ports;

namespace Orchestrator.Core.References;

/// <summary>
/// A manifest that refers to another one through its <c>subject</c> (image spec v1.1 manifest.md
/// "subject"), as a registry lists it (distribution spec v1.1 "Listing Referrers", or the fallback tag's
/// index): its descriptor, its <c>artifactType</c> and its annotations. Pure data: listing and indexing
/// referrers is the registry client's job (<see cref="IRegistryClient.ListReferrersAsync"/>).
/// </summary>
public sealed record Referrer(Descriptor Descriptor, string? ArtifactType, IReadOnlyDictionary<string, string> Annotations)
{
    public Digest Digest => Descriptor.Digest;
}
