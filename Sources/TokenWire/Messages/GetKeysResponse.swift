import CTokenProto

/// The published public keys (`token.v1.GetKeysResponse`).
public struct GetKeysResponse: Sendable, Hashable {
    /// Every published key.
    public var keys: [WirePublicKey]
    /// The same keys as an RFC 7517 JWK Set.
    public var jwksJSON: String
    /// How long a client may cache this answer.
    public var cacheMaxAgeSeconds: UInt32

    /// Creates a response.
    public init(keys: [WirePublicKey] = [], jwksJSON: String = "", cacheMaxAgeSeconds: UInt32 = 0) {
        self.keys = keys
        self.jwksJSON = jwksJSON
        self.cacheMaxAgeSeconds = cacheMaxAgeSeconds
    }
}

extension GetKeysResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.GetKeysResponse" }
    static func emptyCMessage() -> Token__V1__GetKeysResponse {
        var c = Token__V1__GetKeysResponse()
        token__v1__get_keys_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__GetKeysResponse) throws(TokenWireError) {
        self.init(
            keys: try CField.messages(c.keys, count: c.n_keys, as: WirePublicKey.self),
            jwksJSON: try CField.string(c.jwks_json, in: Self.messageName),
            cacheMaxAgeSeconds: c.cache_max_age_seconds
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__GetKeysResponse {
        var c = Self.emptyCMessage()
        c.n_keys = keys.count
        c.keys = arena.messages(keys)
        c.jwks_json = arena.cString(jwksJSON)
        c.cache_max_age_seconds = cacheMaxAgeSeconds
        return c
    }
}
