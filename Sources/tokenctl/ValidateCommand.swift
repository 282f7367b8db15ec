import ArgumentParser
import TokenWire

/// `tokenctl validate`: asks the service whether a token is valid.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate an access token with the service (exit 1 when invalid)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The access token.")
    var token: String

    @Option(help: "The audience the token must carry.")
    var audience: String = ""

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.validate(ValidateRequest(token: token, audience: audience), timeout: connection.callTimeout)
        }
        Output.field("valid", response.valid ? "true" : "false")
        if !response.valid {
            Output.field("reason", "\(response.reason)")
        }
        if let claims = response.claims {
            Output.printClaims(claims)
        }
        if !response.valid {
            throw ExitCode(1)
        }
    }
}
