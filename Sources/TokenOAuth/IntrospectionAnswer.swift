import NIOHTTP1
import TokenCore
import TokenHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An RFC 7662 introspection answer: `{"active": false}` for any token that is not valid, else
/// `active: true` with the token's claims (`aud` a string when there is one audience, an array
/// otherwise; `aud`, `scope` and `sid` absent when the token has none, as in the token).
public struct IntrospectionAnswer: Sendable, Hashable, Encodable {
    /// The claims of an active token; nil for an inactive one.
    public let claims: Claims?

    /// The answer for a valid token.
    /// - Parameter claims: its claims.
    public static func active(_ claims: Claims) -> Self {
        Self(claims: claims)
    }

    /// The answer for any token that is not valid: nothing more than that is said.
    public static let inactive = Self(claims: nil)

    /// The answer as a 200 response (`application/json`, `Cache-Control: no-store`).
    public var response: HTTPResponse {
        let body = (try? JSONEncoder().encode(self)) ?? Data(#"{"active":false}"#.utf8)
        return HTTPResponse(
            status: .ok,
            headers: ["content-type": "application/json", "cache-control": "no-store"],
            body: String(decoding: body, as: UTF8.self)
        )
    }

    private enum CodingKeys: String, CodingKey {
        case active, tokenType = "token_type", iss, sub, aud, scope, exp, iat, nbf, jti, sid
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        guard let claims else {
            try container.encode(false, forKey: .active)
            return
        }
        try container.encode(true, forKey: .active)
        try container.encode("Bearer", forKey: .tokenType)
        try container.encode(claims.issuer, forKey: .iss)
        try container.encode(claims.subject, forKey: .sub)
        if claims.audience.count == 1 {
            try container.encode(claims.audience[0], forKey: .aud)
        } else if !claims.audience.isEmpty {
            try container.encode(claims.audience, forKey: .aud)
        }
        if !claims.scopes.isEmpty {
            try container.encode(claims.scopes.joined(separator: " "), forKey: .scope)
        }
        try container.encode(claims.expiresAt, forKey: .exp)
        try container.encode(claims.issuedAt, forKey: .iat)
        try container.encode(claims.notBefore, forKey: .nbf)
        try container.encode(claims.tokenID, forKey: .jti)
        if !claims.sessionID.isEmpty {
            try container.encode(claims.sessionID, forKey: .sid)
        }
    }
}
