import ArgumentParser
import Foundation
import TokenClient
import TokenCore
import TokenRPC
import TokenWire

/// `tokenctl validate`: asks the service whether a token is valid.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate an access token with the service (exit 1 when invalid).",
        discussion: """
            JSON: {"valid", "reason" (REASON_UNSPECIFIED when valid, else e.g. REVOKED), "claims" \
            (null unless the signature is good)}; with --local also "verified_by": "local" (keys and \
            revocation mirror), "service" (the mirror was not current, so the service was asked) or \
            "policy" (neither could tell: exit 3).
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    @Argument(help: "The access token.")
    var token: String

    @Option(help: "The audience the token must carry.")
    var audience: String = ""

    @Flag(help: "Verify here, as a service embedding TokenValidator does: the published keys and a mirror of the revocations.")
    var local = false

    @Option(help: "With --local: the issuer tokens must name (default: $TOKEND_ISSUER, else http://SERVER).")
    var issuer: String?

    func run() async throws {
        if local {
            return try await runLocally()
        }
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

    /// Verifies through a `TokenValidator` that loads the keys and the revocation snapshot first.
    private func runLocally() async throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = try connection.endpoint(environment: environment)
        var configuration = TokenValidatorConfiguration(
            endpoints: [endpoint],
            credential: try connection.credential(environment: environment),
            issuer: issuer ?? environment["TOKEND_ISSUER"] ?? "http://\(endpoint)"
        )
        configuration.fallbackTimeout = connection.callTimeout
        configuration.rpc.tls = connection.tls
        let validator = TokenValidator(configuration: configuration)
        let running = Task { try await validator.run() }
        defer { running.cancel() }
        // Ready (keys and a current mirror) or not within the timeout, verify either way: a
        // validator that is not ready asks the service, and says so.
        let timeout = connection.callTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await validator.waitUntil(\.isReady) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        let result = await validator.verify(token, audience: audience.isEmpty ? nil : audience)
        running.cancel()
        _ = await running.result
        let verifiedBy =
            switch result.source {
            case .cache, .local: "local"
            case .service: "service"
            case .policy: "policy"
            }
        let reason: Reason =
            switch result.outcome {
            case .valid, .unknown: .unspecified
            case .invalid(let reason): Reason(reason)
            }
        let claims = result.claims.map(WireClaims.init)
        if output.json {
            try Output.printJSON([
                "valid": result.isValid,
                "reason": Output.name(reason),
                "verified_by": verifiedBy,
                "claims": claims.map(Output.object) ?? NSNull(),
            ])
        } else {
            Output.field("valid", result.isValid ? "true" : "false")
            if !result.isValid {
                Output.field("reason", result.reasonName)
            }
            Output.field("verified_by", verifiedBy)
            if let claims {
                Output.printClaims(claims)
            }
        }
        switch result.outcome {
        case .valid: return
        case .invalid: throw ExitCode(ExitStatus.invalid)
        case .unknown:
            throw RPCError.unavailable("the revocation state is unknown: the service could not be reached")
        }
    }
}
