import ArgumentParser
import TokenWire

/// `tokenctl health`: asks whether the service is serving.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Check that the service is serving.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let response = try await connection.withClient { try await $0.health(timeout: connection.callTimeout) }
        Output.field("serving", response.serving ? "true" : "false")
        Output.field("store", response.store)
        Output.field("version", response.version)
        if !response.serving {
            throw ExitCode(1)
        }
    }
}
