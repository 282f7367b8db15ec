/// How much a single verification may rely on the local revocation mirror.
public enum VerificationMode: Sendable, Hashable {
    /// Verify locally; ask the service only when the mirror is stale.
    case standard
    /// Verify locally, then always ask the service, for routes where even milliseconds of
    /// staleness are too much. When the service cannot be reached the answer is
    /// `TokenValidation.Outcome.unknown`, whatever the staleness policy.
    case strict
}
