namespace Orchestrator.Core.Jobs.Documents;

/// <summary>
/// The <c>signature</c> of a validation that signed its digest: the tag (<c>sha256-HEX.sig</c>) and manifest the
/// signatures are under, the key's fingerprint (<c>sha256:</c> of its SubjectPublicKeyInfo), whether a signature was
/// added (false: the key had already signed it) and the OCI 1.1 referrer pushed too (absent without the referrers API).
/// </summary>
public sealed record SigningDocument(string Tag, string Manifest, string KeyFingerprint, bool Added, string? Referrer);

/// <summary>A promotion's signatures: the key that let it into a stage with <c>require-signature</c>, and the signature manifest copied (each absent when none).</summary>
public sealed record PromotionSignatureDocument(KeyDocument? VerifiedBy, string? Copied);

/// <summary>A public key: the path as given and its fingerprint (<c>sha256:</c> of the DER SubjectPublicKeyInfo).</summary>
public sealed record KeyDocument(string Path, string Fingerprint);

/// <summary>
/// <c>verify --json</c>: the digest a stage serves for a pipeline, whether a signature under <c>signatureTag</c> verified,
/// with which key (absent when none), the keys tried, and why each signature found did not verify.
/// </summary>
public sealed record VerifyDocument(
    string Pipeline,
    string Stage,
    string Reference,
    string Digest,
    string SignatureTag,
    bool Verified,
    KeyDocument? VerifiedBy,
    IReadOnlyList<KeyDocument> Keys,
    IReadOnlyList<string> Findings);
