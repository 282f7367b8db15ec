import ArgumentParser
import Foundation
import TokenWire

/// `tokenctl validate`: asks the service whether a token is valid.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate an access token with the service (exit 1 when invalid).",
        discussion: """
            JSON: {"valid", "reason" (REASON_UNSPECIFIED when valid, else e.g. REVOKED), "claims" \
            (null unless the signature is good)}.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The access token.")
    var token: String

    @Option(help: "The audience the token must carry.")
    var audience: String = ""

    func run() async throws {
        let response = try await connection.withClient {
            try await $0.validate(ValidateRequest(token: token, audience: audience), timeout: connection.callTimeout)
        }
        if output.json {
            try Output.printJSON([
                "valid": response.valid,
                "reason": Output.name(response.reason),
                "claims": response.claims.map(Output.object) ?? NSNull(),
            ])
        } else {
            Output.field("valid", response.valid ? "true" : "false")
            if !response.valid {
                Output.field("reason", "\(response.reason)")
            }
            if let claims = response.claims {
                Output.printClaims(claims)
            }
        }
        if !response.valid {
            throw ExitCode(ExitStatus.invalid)
        }
    }
}
