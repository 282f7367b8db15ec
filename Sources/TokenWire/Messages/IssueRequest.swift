import CTokenProto

/// Asks for an access token (and optionally a refresh token) for a subject (`token.v1.IssueRequest`).
public struct IssueRequest: Sendable, Hashable {
    /// The token's `sub`; must not be empty.
    public var subject: String
    /// The token's `aud` values (may be empty).
    public var audience: [String]
    /// Scopes, joined with spaces into the `scope` claim.
    public var scopes: [String]
    /// Optional JSON object of extra claims ("" for none).
    public var extraClaimsJSON: String
    /// Access token lifetime; 0 = the server's default, which is also the cap.
    public var accessTTLSeconds: UInt32
    /// True: also mint a refresh token bound to the new session.
    public var withRefreshToken: Bool
    /// Free-form session metadata (user agent, IP, …), shown by ListSessions.
    public var metadata: [String: String]

    /// Creates a request.
    public init(
        subject: String = "",
        audience: [String] = [],
        scopes: [String] = [],
        extraClaimsJSON: String = "",
        accessTTLSeconds: UInt32 = 0,
        withRefreshToken: Bool = false,
        metadata: [String: String] = [:]
    ) {
        self.subject = subject
        self.audience = audience
        self.scopes = scopes
        self.extraClaimsJSON = extraClaimsJSON
        self.accessTTLSeconds = accessTTLSeconds
        self.withRefreshToken = withRefreshToken
        self.metadata = metadata
    }
}

extension IssueRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.IssueRequest" }
    static func emptyCMessage() -> Token__V1__IssueRequest {
        var c = Token__V1__IssueRequest()
        token__v1__issue_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__IssueRequest) throws(TokenWireError) {
        self.init(
            subject: try CField.string(c.subject, in: Self.messageName),
            audience: try CField.strings(c.audience, count: c.n_audience, in: Self.messageName),
            scopes: try CField.strings(c.scopes, count: c.n_scopes, in: Self.messageName),
            extraClaimsJSON: try CField.string(c.extra_claims_json, in: Self.messageName),
            accessTTLSeconds: c.access_ttl_seconds,
            withRefreshToken: c.with_refresh_token != 0,
            metadata: try CField.map(c.metadata, count: c.n_metadata, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__IssueRequest {
        var c = Self.emptyCMessage()
        c.subject = arena.cString(subject)
        c.n_audience = audience.count
        c.audience = arena.cStringArray(audience)
        c.n_scopes = scopes.count
        c.scopes = arena.cStringArray(scopes)
        c.extra_claims_json = arena.cString(extraClaimsJSON)
        c.access_ttl_seconds = accessTTLSeconds
        c.with_refresh_token = withRefreshToken ? 1 : 0
        c.n_metadata = metadata.count
        c.metadata = arena.mapEntries(metadata)
        return c
    }
}
