import TokenWire

extension Output {
    /// The proto name of a validation reason, e.g. `REVOKED` (a number this version does not know stays a number).
    static func name(_ reason: Reason) -> Any {
        switch reason {
        case .unspecified: "REASON_UNSPECIFIED"
        case .malformed: "MALFORMED"
        case .badSignature: "BAD_SIGNATURE"
        case .unknownKey: "UNKNOWN_KEY"
        case .unsupportedAlgorithm: "UNSUPPORTED_ALGORITHM"
        case .expired: "EXPIRED"
        case .notYetValid: "NOT_YET_VALID"
        case .wrongAudience: "WRONG_AUDIENCE"
        case .wrongIssuer: "WRONG_ISSUER"
        case .revoked: "REVOKED"
        case .unrecognized(let value): value
        }
    }

    /// The proto name of a key state, e.g. `ACTIVE`.
    static func name(_ state: KeyState) -> Any {
        switch state {
        case .unspecified: "KEY_STATE_UNSPECIFIED"
        case .active: "ACTIVE"
        case .next: "NEXT"
        case .retiring: "RETIRING"
        case .unrecognized(let value): value
        }
    }

    /// The proto name of a revocation kind, e.g. `SESSION`.
    static func name(_ kind: RevocationKind) -> Any {
        switch kind {
        case .unspecified: "REVOCATION_KIND_UNSPECIFIED"
        case .token: "TOKEN"
        case .session: "SESSION"
        case .subject: "SUBJECT"
        case .key: "KEY"
        case .keyRing: "KEY_RING"
        case .unrecognized(let value): value
        }
    }
}
