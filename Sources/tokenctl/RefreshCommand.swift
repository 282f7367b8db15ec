import ArgumentParser
import TokenWire

/// `tokenctl refresh`: spends a refresh token for a new pair.
struct RefreshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "refresh", abstract: "Spend a refresh token for a new token pair.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The refresh token.")
    var refreshToken: String

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.refresh(RefreshRequest(refreshToken: refreshToken), timeout: connection.callTimeout)
        }
        Output.printIssued(response)
    }
}
