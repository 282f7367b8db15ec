/// An error of the token engine: keys, tokens, JSON, the key ring and the crypto helpers.
///
/// Opaque so that cases can be added without breaking callers; compare with the static members.
/// Descriptions never contain key material or token text.
public struct TokenError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case invalidKey(reason: String)
        case unsupportedKey
        case cryptoFailure(operation: String)
        case randomFailure
        case malformedToken(reason: String)
        case invalidJSON(reason: String)
        case invalidClaims(reason: String)
        case invalidKeyRing(reason: String)
        case authenticationFailed
        case invalidArgument(reason: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// Key bytes or text that do not decode to a key.
    public static func invalidKey(_ reason: String) -> Self {
        Self(.invalidKey(reason: reason))
    }

    /// A well-formed key of a type other than Ed25519 or P-256.
    public static var unsupportedKey: Self {
        Self(.unsupportedKey)
    }

    /// A libcrypto operation failed (for instance out of memory).
    public static func cryptoFailure(_ operation: String) -> Self {
        Self(.cryptoFailure(operation: operation))
    }

    /// The system's random generator could not produce bytes.
    public static var randomFailure: Self {
        Self(.randomFailure)
    }

    /// A compact JWS that breaks the syntax rules.
    public static func malformedToken(_ reason: String) -> Self {
        Self(.malformedToken(reason: reason))
    }

    /// Text that is not strict JSON, or not the JSON shape asked for.
    public static func invalidJSON(_ reason: String) -> Self {
        Self(.invalidJSON(reason: reason))
    }

    /// Claims that cannot go into a token (for instance an extra claim that the service sets itself).
    public static func invalidClaims(_ reason: String) -> Self {
        Self(.invalidClaims(reason: reason))
    }

    /// Key ring entries that break the ring's rules (exactly one ACTIVE and one NEXT key, unique ids).
    public static func invalidKeyRing(_ reason: String) -> Self {
        Self(.invalidKeyRing(reason: reason))
    }

    /// Sealed bytes that fail authentication (wrong key, wrong associated data, or tampering).
    public static var authenticationFailed: Self {
        Self(.authenticationFailed)
    }

    /// An argument outside its allowed range (for instance an AES key that is not 32 bytes).
    public static func invalidArgument(_ reason: String) -> Self {
        Self(.invalidArgument(reason: reason))
    }

    /// True for errors about a token's form, including a token that would exceed 8 KiB.
    public var isMalformedToken: Bool {
        if case .malformedToken = base { return true }
        return false
    }

    public var description: String {
        switch base {
        case .invalidKey(let reason): "invalid key: \(reason)"
        case .unsupportedKey: "unsupported key type (only Ed25519 and P-256 are supported)"
        case .cryptoFailure(let operation): "libcrypto failed: \(operation)"
        case .randomFailure: "the random generator failed"
        case .malformedToken(let reason): "malformed token: \(reason)"
        case .invalidJSON(let reason): "invalid JSON: \(reason)"
        case .invalidClaims(let reason): "invalid claims: \(reason)"
        case .invalidKeyRing(let reason): "invalid key ring: \(reason)"
        case .authenticationFailed: "authentication of sealed data failed"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        }
    }
}
