import CTokenProto

/// One live session as the wire carries it (`token.v1.Session`).
public struct WireSession: Sendable, Hashable {
    /// The `sid`.
    public var sessionID: String
    /// Its subject.
    public var subject: String
    /// When Issue created it (Unix seconds).
    public var createdAt: Int64
    /// Its last refresh (Unix seconds; `createdAt` if never refreshed).
    public var refreshedAt: Int64
    /// When it ends unless refreshed (Unix seconds).
    public var expiresAt: Int64
    /// The metadata given to Issue.
    public var metadata: [String: String]

    /// Creates a session description.
    public init(
        sessionID: String = "",
        subject: String = "",
        createdAt: Int64 = 0,
        refreshedAt: Int64 = 0,
        expiresAt: Int64 = 0,
        metadata: [String: String] = [:]
    ) {
        self.sessionID = sessionID
        self.subject = subject
        self.createdAt = createdAt
        self.refreshedAt = refreshedAt
        self.expiresAt = expiresAt
        self.metadata = metadata
    }
}

extension WireSession: ProtobufCBridged {
    static var messageName: String { "token.v1.Session" }
    static func emptyCMessage() -> Token__V1__Session {
        var c = Token__V1__Session()
        token__v1__session__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__Session) throws(TokenWireError) {
        self.init(
            sessionID: try CField.string(c.session_id, in: Self.messageName),
            subject: try CField.string(c.subject, in: Self.messageName),
            createdAt: c.created_at,
            refreshedAt: c.refreshed_at,
            expiresAt: c.expires_at,
            metadata: try CField.map(c.metadata, count: c.n_metadata, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__Session {
        var c = Self.emptyCMessage()
        c.session_id = arena.cString(sessionID)
        c.subject = arena.cString(subject)
        c.created_at = createdAt
        c.refreshed_at = refreshedAt
        c.expires_at = expiresAt
        c.n_metadata = metadata.count
        c.metadata = arena.mapEntries(metadata)
        return c
    }
}
