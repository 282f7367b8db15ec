/// An authenticated caller: a name from the callers file and its roles.
public struct Caller: Sendable, Hashable {
    /// The caller's name (safe to log).
    public let name: String
    /// The roles the caller holds.
    public let roles: Set<Role>

    /// Creates a caller.
    /// - Parameters:
    ///   - name: the caller's name.
    ///   - roles: the roles it holds.
    public init(name: String, roles: Set<Role>) {
        self.name = name
        self.roles = roles
    }

    /// Whether the caller may act in `role` (`admin` implies every role).
    /// - Parameter role: the role a method needs.
    /// - Returns: true when the caller holds `role` or `admin`.
    public func has(_ role: Role) -> Bool {
        roles.contains(role) || roles.contains(.admin)
    }
}
