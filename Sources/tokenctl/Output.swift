import Foundation
import TokenWire

/// How tokenctl prints answers: one `name: value` line per field for people, or one JSON object per line
/// with the proto's field names and times as Unix seconds.
enum Output {
    /// A JSON object as `JSONSerialization` takes it.
    typealias Object = [String: Any]

    static func field(_ name: String, _ value: String) {
        print("\(name): \(value)")
    }

    /// A Unix time as ISO 8601 (UTC).
    static func time(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).ISO8601Format()
    }

    /// Prints `object` as one line of JSON (keys sorted) and flushes, so a pipe sees it at once.
    /// - Throws: when `object` holds a value JSON has no form for.
    static func printJSON(_ object: Object) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }

    static func printIssued(_ response: IssueResponse, json: Bool) throws {
        if json {
            try printJSON([
                "access_token": response.accessToken,
                "token_id": response.tokenID,
                "session_id": response.sessionID,
                "key_id": response.keyID,
                "expires_at": response.expiresAt,
                "refresh_token": response.refreshToken,
                "refresh_expires_at": response.refreshExpiresAt,
            ])
            return
        }
        field("access_token", response.accessToken)
        field("token_id", response.tokenID)
        field("session_id", response.sessionID)
        field("key_id", response.keyID)
        field("expires_at", time(response.expiresAt))
        if !response.refreshToken.isEmpty {
            field("refresh_token", response.refreshToken)
            field("refresh_expires_at", time(response.refreshExpiresAt))
        }
    }

    static func printClaims(_ claims: WireClaims) {
        field("subject", claims.subject)
        field("issuer", claims.issuer)
        field("audience", claims.audience.joined(separator: " "))
        field("scopes", claims.scopes.joined(separator: " "))
        field("token_id", claims.tokenID)
        field("session_id", claims.sessionID)
        field("issued_at", time(claims.issuedAt))
        field("expires_at", time(claims.expiresAt))
        if !claims.extraClaimsJSON.isEmpty {
            field("extra_claims", claims.extraClaimsJSON)
        }
    }

    /// The claims as a JSON object with the proto's field names.
    static func object(_ claims: WireClaims) -> Object {
        [
            "subject": claims.subject,
            "issuer": claims.issuer,
            "audience": claims.audience,
            "scopes": claims.scopes,
            "token_id": claims.tokenID,
            "session_id": claims.sessionID,
            "issued_at": claims.issuedAt,
            "expires_at": claims.expiresAt,
            "not_before": claims.notBefore,
            "extra_claims_json": claims.extraClaimsJSON,
        ]
    }

    static func revoke(_ request: RevokeRequest, connection: ConnectionOptions, json: Bool) async throws {
        let response = try await connection.withClient { try await $0.revoke(request, timeout: connection.callTimeout) }
        if json {
            try printJSON(["seq": response.seq, "sessions_revoked": response.sessionsRevoked])
            return
        }
        field("seq", "\(response.seq)")
        field("sessions_revoked", "\(response.sessionsRevoked)")
    }
}
