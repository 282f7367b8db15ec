import CTokenProto

/// The claims of an access token as the wire carries them (`token.v1.Claims`).
public struct WireClaims: Sendable, Hashable {
    /// `sub`.
    public var subject: String
    /// `iss`.
    public var issuer: String
    /// `aud` (a single string audience is one element).
    public var audience: [String]
    /// `scope`, split at spaces.
    public var scopes: [String]
    /// `jti`.
    public var tokenID: String
    /// `sid`.
    public var sessionID: String
    /// `iat` (Unix seconds).
    public var issuedAt: Int64
    /// `exp` (Unix seconds).
    public var expiresAt: Int64
    /// `nbf` (Unix seconds).
    public var notBefore: Int64
    /// Every other claim, as one JSON object ("" when there are none).
    public var extraClaimsJSON: String

    /// Creates claims.
    public init(
        subject: String = "",
        issuer: String = "",
        audience: [String] = [],
        scopes: [String] = [],
        tokenID: String = "",
        sessionID: String = "",
        issuedAt: Int64 = 0,
        expiresAt: Int64 = 0,
        notBefore: Int64 = 0,
        extraClaimsJSON: String = ""
    ) {
        self.subject = subject
        self.issuer = issuer
        self.audience = audience
        self.scopes = scopes
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.extraClaimsJSON = extraClaimsJSON
    }
}

extension WireClaims: ProtobufCBridged {
    static var messageName: String { "token.v1.Claims" }
    static func emptyCMessage() -> Token__V1__Claims {
        var c = Token__V1__Claims()
        token__v1__claims__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__Claims) throws(TokenWireError) {
        self.init(
            subject: try CField.string(c.subject, in: Self.messageName),
            issuer: try CField.string(c.issuer, in: Self.messageName),
            audience: try CField.strings(c.audience, count: c.n_audience, in: Self.messageName),
            scopes: try CField.strings(c.scopes, count: c.n_scopes, in: Self.messageName),
            tokenID: try CField.string(c.token_id, in: Self.messageName),
            sessionID: try CField.string(c.session_id, in: Self.messageName),
            issuedAt: c.issued_at,
            expiresAt: c.expires_at,
            notBefore: c.not_before,
            extraClaimsJSON: try CField.string(c.extra_claims_json, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__Claims {
        var c = Self.emptyCMessage()
        c.subject = arena.cString(subject)
        c.issuer = arena.cString(issuer)
        c.n_audience = audience.count
        c.audience = arena.cStringArray(audience)
        c.n_scopes = scopes.count
        c.scopes = arena.cStringArray(scopes)
        c.token_id = arena.cString(tokenID)
        c.session_id = arena.cString(sessionID)
        c.issued_at = issuedAt
        c.expires_at = expiresAt
        c.not_before = notBefore
        c.extra_claims_json = arena.cString(extraClaimsJSON)
        return c
    }
}
