import CTokenProto

/// Asks whether the server is serving (`token.v1.HealthRequest`, no fields).
public struct HealthRequest: Sendable, Hashable {
    /// Creates the request.
    public init() {}
}

extension HealthRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.HealthRequest" }
    static func emptyCMessage() -> Token__V1__HealthRequest {
        var c = Token__V1__HealthRequest()
        token__v1__health_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__HealthRequest) throws(TokenWireError) {
        self.init()
    }

    func cMessage(in arena: CArena) -> Token__V1__HealthRequest {
        Self.emptyCMessage()
    }
}
