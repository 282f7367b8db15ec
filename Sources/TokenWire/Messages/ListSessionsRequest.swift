import CTokenProto

/// Asks for the live sessions of a subject (`token.v1.ListSessionsRequest`).
public struct ListSessionsRequest: Sendable, Hashable {
    /// Whose sessions.
    public var subject: String

    /// Creates a request.
    public init(subject: String = "") {
        self.subject = subject
    }
}

extension ListSessionsRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.ListSessionsRequest" }
    static func emptyCMessage() -> Token__V1__ListSessionsRequest {
        var c = Token__V1__ListSessionsRequest()
        token__v1__list_sessions_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__ListSessionsRequest) throws(TokenWireError) {
        self.init(subject: try CField.string(c.subject, in: Self.messageName))
    }

    func cMessage(in arena: CArena) -> Token__V1__ListSessionsRequest {
        var c = Self.emptyCMessage()
        c.subject = arena.cString(subject)
        return c
    }
}
