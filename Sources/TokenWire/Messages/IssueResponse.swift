import CTokenProto

/// A freshly minted access token, and refresh token when asked (`token.v1.IssueResponse`); also the answer
/// to Refresh.
public struct IssueResponse: Sendable, Hashable {
    /// The signed JWT (JWS compact form).
    public var accessToken: String
    /// The token's `jti`.
    public var tokenID: String
    /// The token's `sid`: the session it belongs to.
    public var sessionID: String
    /// The token's `exp` (Unix seconds).
    public var expiresAt: Int64
    /// Opaque refresh token; empty unless asked for.
    public var refreshToken: String
    /// When the refresh token (and so the session) expires unless refreshed (Unix seconds); 0 without one.
    public var refreshExpiresAt: Int64
    /// The `kid` of the key that signed the access token.
    public var keyID: String

    /// Creates a response.
    public init(
        accessToken: String = "",
        tokenID: String = "",
        sessionID: String = "",
        expiresAt: Int64 = 0,
        refreshToken: String = "",
        refreshExpiresAt: Int64 = 0,
        keyID: String = ""
    ) {
        self.accessToken = accessToken
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.expiresAt = expiresAt
        self.refreshToken = refreshToken
        self.refreshExpiresAt = refreshExpiresAt
        self.keyID = keyID
    }
}

extension IssueResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.IssueResponse" }
    static func emptyCMessage() -> Token__V1__IssueResponse {
        var c = Token__V1__IssueResponse()
        token__v1__issue_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__IssueResponse) throws(TokenWireError) {
        self.init(
            accessToken: try CField.string(c.access_token, in: Self.messageName),
            tokenID: try CField.string(c.token_id, in: Self.messageName),
            sessionID: try CField.string(c.session_id, in: Self.messageName),
            expiresAt: c.expires_at,
            refreshToken: try CField.string(c.refresh_token, in: Self.messageName),
            refreshExpiresAt: c.refresh_expires_at,
            keyID: try CField.string(c.key_id, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__IssueResponse {
        var c = Self.emptyCMessage()
        c.access_token = arena.cString(accessToken)
        c.token_id = arena.cString(tokenID)
        c.session_id = arena.cString(sessionID)
        c.expires_at = expiresAt
        c.refresh_token = arena.cString(refreshToken)
        c.refresh_expires_at = refreshExpiresAt
        c.key_id = arena.cString(keyID)
        return c
    }
}
