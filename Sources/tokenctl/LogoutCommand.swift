import ArgumentParser
import TokenWire

/// `tokenctl logout`: forces a user out everywhere.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Force a logout: revoke every session and token of a subject (admin).",
        discussion: "JSON: {\"seq\", \"sessions_revoked\"}."
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The subject.")
    var subject: String

    @Option(help: "Why (kept in the audit log).")
    var reason: String = "forced logout"

    func run() async throws {
        let request = RevokeRequest(target: .subject(subject), reason: reason)
        try await Output.revoke(request, connection: connection, json: output.json)
    }
}
