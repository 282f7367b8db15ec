import ArgumentParser
import TokenWire

/// `tokenctl revoke`: revokes a token, a token id, a session or a subject.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an access or refresh token, a token id, a session, or every session of a subject.",
        discussion: "JSON: {\"seq\", \"sessions_revoked\"}."
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Option(parsing: .unconditional, help: "An access token (revokes it) or a refresh token (revokes its session).")
    var token: String?

    @Option(parsing: .unconditional, help: "An access token's id (jti).")
    var tokenId: String?

    @Option(parsing: .unconditional, help: "A session id (sid).")
    var session: String?

    @Option(parsing: .unconditional, help: "A subject: every session and token of it (admin).")
    var subject: String?

    @Option(help: "Why (kept in the audit log).")
    var reason: String = ""

    func validate() throws {
        guard [token, tokenId, session, subject].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --token, --token-id, --session, --subject")
        }
    }

    func run() async throws {
        let target: RevokeRequest.Target
        if let token {
            target = .token(token)
        } else if let tokenId {
            target = .tokenID(tokenId)
        } else if let session {
            target = .sessionID(session)
        } else if let subject {
            target = .subject(subject)
        } else {
            throw ValidationError("give exactly one of --token, --token-id, --session, --subject")
        }
        let request = RevokeRequest(target: target, reason: reason)
        try await Output.revoke(request, connection: connection, json: output.json)
    }
}
