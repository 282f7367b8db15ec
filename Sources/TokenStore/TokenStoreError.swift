/// An error of a `TokenStore`.
public struct TokenStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case unavailable(String)
        case corrupt(String)
        case rejected(String)
        case revoked(String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The storage cannot be reached or written; nothing was stored.
    public static func unavailable(_ detail: String) -> Self { Self(.unavailable(detail)) }

    /// Stored data could not be read back as written.
    public static func corrupt(_ detail: String) -> Self { Self(.corrupt(detail)) }

    /// The write was refused and nothing was stored: it conflicts with stored data (a duplicate id,
    /// an unknown session) or is not valid (a malformed key id).
    public static func rejected(_ detail: String) -> Self { Self(.rejected(detail)) }

    /// The write was refused and nothing was stored: what it would create is already revoked (a
    /// session whose subject was revoked at or after the session's start). A later retry may succeed.
    public static func revoked(_ detail: String) -> Self { Self(.revoked(detail)) }

    /// True for `unavailable` errors.
    public var isUnavailable: Bool {
        if case .unavailable = base { return true }
        return false
    }

    /// True for `corrupt` errors.
    public var isCorrupt: Bool {
        if case .corrupt = base { return true }
        return false
    }

    /// True for `rejected` errors.
    public var isRejected: Bool {
        if case .rejected = base { return true }
        return false
    }

    /// True for `revoked` errors.
    public var isRevoked: Bool {
        if case .revoked = base { return true }
        return false
    }

    public var description: String {
        switch base {
        case .unavailable(let detail): "store unavailable: \(detail)"
        case .corrupt(let detail): "store data corrupt: \(detail)"
        case .rejected(let detail): "store refused the write: \(detail)"
        case .revoked(let detail): "store refused the write: revoked: \(detail)"
        }
    }
}
