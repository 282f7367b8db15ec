import ArgumentParser
import TokenWire

/// `tokenctl sessions`: lists a subject's live sessions.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List a subject's live sessions (admin).")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The subject.")
    var subject: String

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.listSessions(ListSessionsRequest(subject: subject), timeout: connection.callTimeout)
        }
        if response.sessions.isEmpty {
            print("no live sessions")
        }
        for session in response.sessions {
            let metadata = session.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print(
                "\(session.sessionID)  created \(Output.time(session.createdAt))  refreshed \(Output.time(session.refreshedAt))"
                    + "  expires \(Output.time(session.expiresAt))  \(metadata)"
            )
        }
    }
}
