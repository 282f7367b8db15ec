/// Why a token is not valid (`token.v1.Reason`); `.unspecified` means valid.
///
/// Open like every proto3 enum: a number this version does not know is kept as `.unrecognized`.
public enum Reason: RawRepresentable, CaseIterable, Sendable, Hashable {
    /// Valid (`REASON_UNSPECIFIED`).
    case unspecified
    /// Not a well-formed compact JWS/JWT, or over 8 KiB.
    case malformed
    /// The signature does not verify with the key named by `kid`.
    case badSignature
    /// No published key has this `kid`.
    case unknownKey
    /// The header's `alg` is not the key's algorithm (or is none, HMAC or unknown).
    case unsupportedAlgorithm
    /// `exp` is past, beyond the leeway.
    case expired
    /// `nbf` is in the future, beyond the leeway.
    case notYetValid
    /// The expected audience is not in `aud`.
    case wrongAudience
    /// `iss` is not the service's issuer.
    case wrongIssuer
    /// The token, its session or its subject was revoked.
    case revoked
    /// A number this version does not know.
    case unrecognized(Int32)

    /// Every known reason.
    public static let allCases: [Reason] = [
        .unspecified, .malformed, .badSignature, .unknownKey, .unsupportedAlgorithm, .expired, .notYetValid,
        .wrongAudience, .wrongIssuer, .revoked,
    ]

    /// The reason with this wire number.
    /// - Parameter rawValue: the enum number on the wire.
    public init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .malformed
        case 2: self = .badSignature
        case 3: self = .unknownKey
        case 4: self = .unsupportedAlgorithm
        case 5: self = .expired
        case 6: self = .notYetValid
        case 7: self = .wrongAudience
        case 8: self = .wrongIssuer
        case 9: self = .revoked
        default: self = .unrecognized(rawValue)
        }
    }

    /// The enum number on the wire.
    public var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .malformed: 1
        case .badSignature: 2
        case .unknownKey: 3
        case .unsupportedAlgorithm: 4
        case .expired: 5
        case .notYetValid: 6
        case .wrongAudience: 7
        case .wrongIssuer: 8
        case .revoked: 9
        case .unrecognized(let value): value
        }
    }
}
