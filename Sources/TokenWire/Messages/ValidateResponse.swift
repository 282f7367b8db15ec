import CTokenProto

/// The verdict on a token (`token.v1.ValidateResponse`). An invalid token is not an RPC error.
public struct ValidateResponse: Sendable, Hashable {
    /// True when the token is valid for the request.
    public var valid: Bool
    /// Why not, when `valid` is false.
    public var reason: Reason
    /// The token's claims, present whenever the signature is good (even if the token is not valid).
    public var claims: WireClaims?

    /// Creates a response.
    public init(valid: Bool = false, reason: Reason = .unspecified, claims: WireClaims? = nil) {
        self.valid = valid
        self.reason = reason
        self.claims = claims
    }
}

extension ValidateResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.ValidateResponse" }
    static func emptyCMessage() -> Token__V1__ValidateResponse {
        var c = Token__V1__ValidateResponse()
        token__v1__validate_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__ValidateResponse) throws(TokenWireError) {
        self.init(
            valid: c.valid != 0,
            reason: Reason(rawValue: CField.enumValue(c.reason)),
            claims: try CField.message(c.claims, as: WireClaims.self)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__ValidateResponse {
        var c = Self.emptyCMessage()
        c.valid = valid ? 1 : 0
        c.reason = Token__V1__Reason(rawValue: .init(truncatingIfNeeded: reason.rawValue))
        c.claims = arena.message(claims)
        return c
    }
}
