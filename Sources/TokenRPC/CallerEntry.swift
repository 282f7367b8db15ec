/// One caller as configured: its name, the SHA-256 of its API key and its roles.
public struct CallerEntry: Sendable, Hashable {
    /// The caller's name.
    public var name: String
    /// The SHA-256 digest (32 bytes) of the caller's API key; the key itself is never stored.
    public var keySHA256: [UInt8]
    /// The caller's roles.
    public var roles: Set<Role>

    /// Creates an entry.
    /// - Parameters:
    ///   - name: the caller's name.
    ///   - keySHA256: the SHA-256 digest of its API key (an entry of another length never matches).
    ///   - roles: its roles.
    public init(name: String, keySHA256: [UInt8], roles: Set<Role>) {
        self.name = name
        self.keySHA256 = keySHA256
        self.roles = roles
    }
}
