import TokenCore

extension Reason {
    /// The wire reason of a verification outcome.
    /// - Parameter reason: the outcome.
    public init(_ reason: VerificationReason) {
        switch reason {
        case .valid: self = .unspecified
        case .malformed: self = .malformed
        case .badSignature: self = .badSignature
        case .unknownKey: self = .unknownKey
        case .unsupportedAlgorithm: self = .unsupportedAlgorithm
        case .expired: self = .expired
        case .notYetValid: self = .notYetValid
        case .wrongAudience: self = .wrongAudience
        case .wrongIssuer: self = .wrongIssuer
        case .revoked: self = .revoked
        }
    }
}

extension VerificationReason {
    /// The reason of a wire `Reason`; nil for `REASON_UNSPECIFIED` (valid) and numbers this
    /// version does not know.
    /// - Parameter reason: the wire reason.
    public init?(_ reason: Reason) {
        switch reason {
        case .malformed: self = .malformed
        case .badSignature: self = .badSignature
        case .unknownKey: self = .unknownKey
        case .unsupportedAlgorithm: self = .unsupportedAlgorithm
        case .expired: self = .expired
        case .notYetValid: self = .notYetValid
        case .wrongAudience: self = .wrongAudience
        case .wrongIssuer: self = .wrongIssuer
        case .revoked: self = .revoked
        default: return nil
        }
    }
}
