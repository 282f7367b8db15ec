/// The published public keys, by `kid`: what a verifier looks a token's key up in.
public struct KeySet: Sendable {
    private var keys: [String: VerificationKey]

    /// Creates a key set.
    /// - Parameter keys: Public keys by `kid`.
    public init(keys: [String: VerificationKey] = [:]) {
        self.keys = keys
    }

    /// Reads an RFC 7517 JWK Set. Keys of other types (RSA, other curves) are skipped, as RFC 7517
    /// §5 asks.
    /// - Parameter jwksJSON: `{"keys":[…]}`.
    /// - Throws: `TokenError.invalidJSON` when the text is not a JWK Set, `TokenError.invalidKey`
    ///   when a supported key is malformed or has no string `kid`.
    public init(jwksJSON: String) throws(TokenError) {
        guard case .array(let elements)? = try JSONValue.parseObject(jwksJSON)["keys"] else {
            throw .invalidJSON("a JWK Set needs a keys array")
        }
        var keys: [String: VerificationKey] = [:]
        for element in elements {
            guard case .object(let object) = element else { throw .invalidJSON("a JWK is not an object") }
            let key: VerificationKey
            do {
                key = try VerificationKey(jwk: object.jsonText)
            } catch  where error == .unsupportedKey {
                continue
            }
            guard let keyID = object["kid"]?.stringValue else { throw .invalidKey("JWK without kid") }
            keys[keyID] = key
        }
        self.keys = keys
    }

    /// The key with this `kid`, or nil.
    public subscript(keyID: String) -> VerificationKey? {
        keys[keyID]
    }

    /// The keys whose `kid` satisfies `isIncluded`.
    /// - Parameter isIncluded: Whether a `kid` stays.
    /// - Returns: The smaller set.
    public func filter(_ isIncluded: (String) -> Bool) -> KeySet {
        KeySet(keys: keys.filter { isIncluded($0.key) })
    }

    /// The key ids, sorted.
    public var keyIDs: [String] {
        keys.keys.sorted()
    }

    /// How many keys the set holds.
    public var count: Int {
        keys.count
    }

    /// The set as an RFC 7517 JWK Set, keys sorted by `kid`.
    public func jwksJSON() -> String {
        Self.jwksJSON(keyIDs.compactMap { keyID in keys[keyID].map { (keyID, $0) } })
    }

    /// `{"keys":[…]}` for keys in the given order.
    static func jwksJSON(_ keys: [(keyID: String, key: VerificationKey)]) -> String {
        "{\"keys\":[" + keys.map { $0.key.jwk(keyID: $0.keyID) }.joined(separator: ",") + "]}"
    }
}
