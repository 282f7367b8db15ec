import ArgumentParser
import TokenWire

/// `tokenctl sessions`: lists a subject's live sessions.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List a subject's live sessions (admin).",
        discussion: """
            JSON: {"sessions": [{"session_id", "subject", "created_at", "refreshed_at", "expires_at", \
            "metadata"}]}.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The subject.")
    var subject: String

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.listSessions(ListSessionsRequest(subject: subject), timeout: connection.callTimeout)
        }
        if output.json {
            let sessions: [Output.Object] = response.sessions.map { session in
                [
                    "session_id": session.sessionID,
                    "subject": session.subject,
                    "created_at": session.createdAt,
                    "refreshed_at": session.refreshedAt,
                    "expires_at": session.expiresAt,
                    "metadata": session.metadata,
                ]
            }
            try Output.printJSON(["sessions": sessions])
            return
        }
        if response.sessions.isEmpty {
            print("no live sessions")
        }
        for session in response.sessions {
            let metadata = session.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            print(
                "\(session.sessionID)  created \(Output.time(session.createdAt))"
                    + "  refreshed \(Output.time(session.refreshedAt))"
                    + "  expires \(Output.time(session.expiresAt))  \(metadata.joined(separator: " "))"
            )
        }
    }
}
