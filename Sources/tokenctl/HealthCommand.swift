import ArgumentParser
import TokenWire

/// `tokenctl health`: asks whether the service is serving.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the service is serving (exit 1 when it is not).",
        discussion: "JSON: {\"serving\", \"store\", \"version\"}."
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let response = try await connection.withClient { try await $0.health(timeout: connection.callTimeout) }
        if output.json {
            try Output.printJSON(["serving": response.serving, "store": response.store, "version": response.version])
        } else {
            Output.field("serving", response.serving ? "true" : "false")
            Output.field("store", response.store)
            Output.field("version", response.version)
        }
        if !response.serving {
            throw ExitCode(ExitStatus.invalid)
        }
    }
}
