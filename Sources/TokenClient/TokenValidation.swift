import TokenCore

/// The answer of `TokenValidator.verify`.
public struct TokenValidation: Sendable, Hashable {
    /// Whether the token may be trusted.
    public enum Outcome: Sendable, Hashable {
        /// The token is valid.
        case valid
        /// The token is not valid, for this reason (never `.valid`).
        case invalid(VerificationReason)
        /// The validator cannot know: its revocation mirror is stale (or its keys were never
        /// loaded) and the service could not be asked. Answer "try again later", not "invalid".
        case unknown
    }

    /// What decided the outcome.
    public enum Source: Sendable, Hashable {
        /// A cached verification of the same token, checked against the clock and the mirror.
        case cache
        /// The signature and claims verified locally, checked against a fresh mirror.
        case local
        /// The service's Validate (the mirror was stale, or the call was `.strict`).
        case service
        /// The policy: the service could not be asked, so `.failOpen` accepted or `.failClosed`
        /// refused.
        case policy
    }

    /// Whether the token may be trusted.
    public var outcome: Outcome
    /// What decided the outcome.
    public var source: Source
    /// The token's claims, whenever its signature is good (also when it is not valid). After a
    /// cached verification they are read from the token's payload on each access (the cache keeps no
    /// claims); keep the value when it is needed more than once.
    public var claims: Claims? {
        get {
            switch claimsStorage {
            case .decoded(let claims): claims
            case .payloadOf(let token): Claims(payloadOf: token)
            }
        }
        set {
            claimsStorage = .decoded(newValue)
        }
    }

    /// Where the claims come from.
    private enum ClaimsStorage: Sendable {
        case decoded(Claims?)
        /// The payload of a token whose signature was verified.
        case payloadOf(String)
    }

    private var claimsStorage: ClaimsStorage

    /// Creates a validation.
    public init(outcome: Outcome, claims: Claims?, source: Source) {
        self.outcome = outcome
        self.source = source
        self.claimsStorage = .decoded(claims)
    }

    /// A validation whose claims are read from a verified token when asked for.
    init(outcome: Outcome, verifiedToken: String, source: Source) {
        self.outcome = outcome
        self.source = source
        self.claimsStorage = .payloadOf(verifiedToken)
    }

    public static func == (lhs: TokenValidation, rhs: TokenValidation) -> Bool {
        lhs.outcome == rhs.outcome && lhs.source == rhs.source && lhs.claims == rhs.claims
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(outcome)
        hasher.combine(source)
        hasher.combine(claims)
    }

    /// True when the outcome is `.valid`.
    public var isValid: Bool {
        outcome == .valid
    }

    /// The outcome as the contract's reason in lower case (`revoked`, `expired`, `bad_signature`,
    /// ...), `valid`, or `revocation_state_unknown`: what an RFC 6750 `error_description` carries.
    public var reasonName: String {
        switch outcome {
        case .valid: "valid"
        case .unknown: "revocation_state_unknown"
        case .invalid(let reason): reason.contractName
        }
    }
}

extension VerificationReason {
    /// The contract's name of the reason in lower case, e.g. `bad_signature`.
    public var contractName: String {
        switch self {
        case .valid: "valid"
        case .malformed: "malformed"
        case .badSignature: "bad_signature"
        case .unknownKey: "unknown_key"
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .wrongAudience: "wrong_audience"
        case .wrongIssuer: "wrong_issuer"
        case .revoked: "revoked"
        }
    }
}
