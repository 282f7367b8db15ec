/// What a revocation event's value names (`token.v1.RevocationKind`).
///
/// Open like every proto3 enum: a number this version does not know is kept as `.unrecognized`.
public enum RevocationKind: RawRepresentable, CaseIterable, Sendable, Hashable {
    /// Not set (`REVOCATION_KIND_UNSPECIFIED`).
    case unspecified
    /// The value is a `jti`.
    case token
    /// The value is a `sid`.
    case session
    /// The value is a `sub`: its tokens with `iat` ≤ `revokedAt` are revoked.
    case subject
    /// The value is a signing key's `kid`: every token naming it is revoked.
    case key
    /// Not a revocation: the published key ring changed; the event's `keys` hold it.
    case keyRing
    /// A number this version does not know.
    case unrecognized(Int32)

    /// Every known kind.
    public static let allCases: [RevocationKind] = [.unspecified, .token, .session, .subject, .key, .keyRing]

    /// The kind with this wire number.
    /// - Parameter rawValue: the enum number on the wire.
    public init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .token
        case 2: self = .session
        case 3: self = .subject
        case 4: self = .key
        case 5: self = .keyRing
        default: self = .unrecognized(rawValue)
        }
    }

    /// The enum number on the wire.
    public var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .token: 1
        case .session: 2
        case .subject: 3
        case .key: 4
        case .keyRing: 5
        case .unrecognized(let value): value
        }
    }
}
