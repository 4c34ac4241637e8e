// OciReferrers.cs belongs to the registry work of issue 12 (it moves into Orchestrator.Registry there) and is not
// edited here. Its AddToIndex calls JsonArray.Add<JsonObject>(entry): the generic overload the trim analyzer flags
// because it may wrap an arbitrary value by reflection, but a JsonNode argument is added as the node itself
// (JsonValue is never created), so nothing is serialized by reflection. When the file moves, delete this one;
// the lasting fix there is Add((JsonNode)entry), the non-generic overload.
[assembly: SuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Scope = "member",
    Target = "~M:Orchestrator.Core.Sbom.OciReferrers.AddToIndex(System.Nullable{System.ReadOnlyMemory{System.Byte}},System.Collections.Generic.IReadOnlyList{Orchestrator.Core.Sbom.Referrer},System.String)~System.Byte[]",
    Justification = "A JsonNode added to a JsonArray is stored as is; no reflection-based serialization happens.")]
[assembly: SuppressMessage("AOT", "IL3050:RequiresDynamicCode", Scope = "member",
    Target = "~M:Orchestrator.Core.Sbom.OciReferrers.AddToIndex(System.Nullable{System.ReadOnlyMemory{System.Byte}},System.Collections.Generic.IReadOnlyList{Orchestrator.Core.Sbom.Referrer},System.String)~System.Byte[]",
    Justification = "A JsonNode added to a JsonArray is stored as is; no code is generated at run time.")]
