import CTokenProto

/// The server's health (`token.v1.HealthResponse`).
public struct HealthResponse: Sendable, Hashable {
    /// True while the server accepts calls.
    public var serving: Bool
    /// The kind of store: "embedded" or "redis".
    public var store: String
    /// The server's version.
    public var version: String

    /// Creates a response.
    public init(serving: Bool = false, store: String = "", version: String = "") {
        self.serving = serving
        self.store = store
        self.version = version
    }
}

extension HealthResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.HealthResponse" }
    static func emptyCMessage() -> Token__V1__HealthResponse {
        var c = Token__V1__HealthResponse()
        token__v1__health_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__HealthResponse) throws(TokenWireError) {
        self.init(
            serving: c.serving != 0,
            store: try CField.string(c.store, in: Self.messageName),
            version: try CField.string(c.version, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__HealthResponse {
        var c = Self.emptyCMessage()
        c.serving = serving ? 1 : 0
        c.store = arena.cString(store)
        c.version = arena.cString(version)
        return c
    }
}
