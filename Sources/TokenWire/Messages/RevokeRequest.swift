import CTokenProto

/// Revokes a token, a session or every session of a subject (`token.v1.RevokeRequest`).
public struct RevokeRequest: Sendable, Hashable {
    /// What to revoke (the proto's `oneof target`).
    public enum Target: Sendable, Hashable {
        /// An access token (revokes it) or a refresh token (revokes its session).
        case token(String)
        /// An access token's `jti`.
        case tokenID(String)
        /// A session id: revokes the session and every token of it.
        case sessionID(String)
        /// A subject: every session of it and every access token issued at or before now (admin only).
        case subject(String)
    }

    /// What to revoke; nil (unset) is an invalid request.
    public var target: Target?
    /// Free-form reason, kept for the audit log.
    public var reason: String

    /// Creates a request.
    public init(target: Target? = nil, reason: String = "") {
        self.target = target
        self.reason = reason
    }
}

extension RevokeRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.RevokeRequest" }
    static func emptyCMessage() -> Token__V1__RevokeRequest {
        var c = Token__V1__RevokeRequest()
        token__v1__revoke_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RevokeRequest) throws(TokenWireError) {
        let target: Target? =
            switch c.target_case {
            case TOKEN__V1__REVOKE_REQUEST__TARGET_TOKEN:
                .token(try CField.string(c.token, in: Self.messageName))
            case TOKEN__V1__REVOKE_REQUEST__TARGET_TOKEN_ID:
                .tokenID(try CField.string(c.token_id, in: Self.messageName))
            case TOKEN__V1__REVOKE_REQUEST__TARGET_SESSION_ID:
                .sessionID(try CField.string(c.session_id, in: Self.messageName))
            case TOKEN__V1__REVOKE_REQUEST__TARGET_SUBJECT:
                .subject(try CField.string(c.subject, in: Self.messageName))
            default: nil
            }
        self.init(target: target, reason: try CField.string(c.reason, in: Self.messageName))
    }

    func cMessage(in arena: CArena) -> Token__V1__RevokeRequest {
        var c = Self.emptyCMessage()
        switch target {
        case .token(let value):
            c.target_case = TOKEN__V1__REVOKE_REQUEST__TARGET_TOKEN
            c.token = arena.cString(value)
        case .tokenID(let value):
            c.target_case = TOKEN__V1__REVOKE_REQUEST__TARGET_TOKEN_ID
            c.token_id = arena.cString(value)
        case .sessionID(let value):
            c.target_case = TOKEN__V1__REVOKE_REQUEST__TARGET_SESSION_ID
            c.session_id = arena.cString(value)
        case .subject(let value):
            c.target_case = TOKEN__V1__REVOKE_REQUEST__TARGET_SUBJECT
            c.subject = arena.cString(value)
        case nil:
            c.target_case = TOKEN__V1__REVOKE_REQUEST__TARGET__NOT_SET
        }
        c.reason = arena.cString(reason)
        return c
    }
}
