/// The outcome of verifying a token.
public struct VerificationResult: Sendable, Hashable {
    /// Why the token is or is not valid.
    public var reason: VerificationReason
    /// The claims, set whenever the signature is good (even when the token is not valid).
    public var claims: Claims?
    /// The `kid` of the key that verified the signature, set with `claims`; for `.unknownKey`, the
    /// `kid` the token names (no key has it).
    public var keyID: String?

    /// Creates a result.
    public init(reason: VerificationReason, claims: Claims? = nil, keyID: String? = nil) {
        self.reason = reason
        self.claims = claims
        self.keyID = keyID
    }

    /// True when `reason` is `.valid`.
    public var isValid: Bool {
        reason == .valid
    }
}
