/// A permission a caller holds; each method names the role it needs (`admin` implies every role).
public struct Role: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String

    /// The role named `rawValue`, or nil when no such role exists.
    public init?(rawValue: String) {
        guard Self.all.contains(where: { $0.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    private init(known: String) {
        self.rawValue = known
    }

    /// May call Validate and WatchRevocations.
    public static let validate = Role(known: "validate")
    /// May call Issue.
    public static let issue = Role(known: "issue")
    /// May call Refresh.
    public static let refresh = Role(known: "refresh")
    /// May revoke by token, token id or session id.
    public static let revoke = Role(known: "revoke")
    /// May call everything.
    public static let admin = Role(known: "admin")

    /// Every role.
    public static let all: [Role] = [.validate, .issue, .refresh, .revoke, .admin]

    public var description: String { rawValue }
}
