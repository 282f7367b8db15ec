import ArgumentParser
import TokenWire

/// `tokenctl refresh`: spends a refresh token for a new pair.
struct RefreshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Spend a refresh token for a new token pair.",
        discussion: "JSON: the fields of `issue --json`."
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The refresh token (after `--` when it starts with a dash).")
    var refreshToken: String

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.refresh(RefreshRequest(refreshToken: refreshToken), timeout: connection.callTimeout)
        }
        try Output.printIssued(response, json: output.json)
    }
}
