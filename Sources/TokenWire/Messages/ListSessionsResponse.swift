import CTokenProto

/// The live sessions of a subject (`token.v1.ListSessionsResponse`).
public struct ListSessionsResponse: Sendable, Hashable {
    /// Live sessions (not revoked, not expired), newest first.
    public var sessions: [WireSession]

    /// Creates a response.
    public init(sessions: [WireSession] = []) {
        self.sessions = sessions
    }
}

extension ListSessionsResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.ListSessionsResponse" }
    static func emptyCMessage() -> Token__V1__ListSessionsResponse {
        var c = Token__V1__ListSessionsResponse()
        token__v1__list_sessions_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__ListSessionsResponse) throws(TokenWireError) {
        self.init(sessions: try CField.messages(c.sessions, count: c.n_sessions, as: WireSession.self))
    }

    func cMessage(in arena: CArena) -> Token__V1__ListSessionsResponse {
        var c = Self.emptyCMessage()
        c.n_sessions = sessions.count
        c.sessions = arena.messages(sessions)
        return c
    }
}
