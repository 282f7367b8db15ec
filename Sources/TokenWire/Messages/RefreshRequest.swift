import CTokenProto

/// Spends a refresh token for a new access and refresh token pair (`token.v1.RefreshRequest`).
public struct RefreshRequest: Sendable, Hashable {
    /// The refresh token to spend.
    public var refreshToken: String
    /// Lifetime of the new access token; 0 = the server's default, which is also the cap.
    public var accessTTLSeconds: UInt32

    /// Creates a request.
    public init(refreshToken: String = "", accessTTLSeconds: UInt32 = 0) {
        self.refreshToken = refreshToken
        self.accessTTLSeconds = accessTTLSeconds
    }
}

extension RefreshRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.RefreshRequest" }
    static func emptyCMessage() -> Token__V1__RefreshRequest {
        var c = Token__V1__RefreshRequest()
        token__v1__refresh_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RefreshRequest) throws(TokenWireError) {
        self.init(
            refreshToken: try CField.string(c.refresh_token, in: Self.messageName),
            accessTTLSeconds: c.access_ttl_seconds
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RefreshRequest {
        var c = Self.emptyCMessage()
        c.refresh_token = arena.cString(refreshToken)
        c.access_ttl_seconds = accessTTLSeconds
        return c
    }
}
