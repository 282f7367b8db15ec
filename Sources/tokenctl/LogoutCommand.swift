import ArgumentParser
import TokenWire

/// `tokenctl logout`: forces a user out everywhere.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Force a logout: revoke every session and token of a subject (admin)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The subject.")
    var subject: String

    @Option(help: "Why (kept in the audit log).")
    var reason: String = "forced logout"

    func run() async throws {
        try await Output.revoke(RevokeRequest(target: .subject(subject), reason: reason), connection: connection)
    }
}
