import Foundation
import TokenWire

/// How tokenctl prints answers: one `name: value` line per field.
enum Output {
    static func field(_ name: String, _ value: String) {
        print("\(name): \(value)")
    }

    /// A Unix time as ISO 8601 (UTC).
    static func time(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).ISO8601Format()
    }

    static func printIssued(_ response: IssueResponse) {
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

    static func revoke(_ request: RevokeRequest, connection: ConnectionOptions) async throws {
        let response = try await connection.withClient { try await $0.revoke(request, timeout: connection.callTimeout) }
        field("seq", "\(response.seq)")
        field("sessions_revoked", "\(response.sessionsRevoked)")
    }
}
