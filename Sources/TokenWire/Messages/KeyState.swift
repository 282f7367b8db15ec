/// A signing key's place in the rotation (`token.v1.KeyState`).
///
/// Open like every proto3 enum: a number this version does not know is kept as `.unrecognized`.
public enum KeyState: RawRepresentable, CaseIterable, Sendable, Hashable {
    /// Not set (`KEY_STATE_UNSPECIFIED`).
    case unspecified
    /// Signs new tokens.
    case active
    /// Published ahead of use; signs nothing yet.
    case next
    /// Signs nothing more; published until its last token has expired.
    case retiring
    /// A number this version does not know.
    case unrecognized(Int32)

    /// Every known state.
    public static let allCases: [KeyState] = [.unspecified, .active, .next, .retiring]

    /// The state with this wire number.
    /// - Parameter rawValue: the enum number on the wire.
    public init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .active
        case 2: self = .next
        case 3: self = .retiring
        default: self = .unrecognized(rawValue)
        }
    }

    /// The enum number on the wire.
    public var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .active: 1
        case .next: 2
        case .retiring: 3
        case .unrecognized(let value): value
        }
    }
}
