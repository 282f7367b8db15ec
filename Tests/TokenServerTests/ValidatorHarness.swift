import Foundation
import Logging
import TokenClient
import TokenCore
import TokenRPC

/// Runs a `TokenValidator` against a test server while a test's body runs.
enum ValidatorHarness {
    /// A validator configuration for a loopback server with the test callers.
    static func configuration(
        port: Int,
        staleAfter: Duration = .seconds(2),
        configure: (inout TokenValidatorConfiguration) -> Void = { _ in }
    ) -> TokenValidatorConfiguration {
        var configuration = TokenValidatorConfiguration(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)],
            credential: "validator",
            issuer: "https://tokens.test"
        )
        configuration.staleAfter = staleAfter
        configure(&configuration)
        return configuration
    }

    /// Starts the validator, waits until it is ready (keys loaded, mirror fresh), runs `body`, and
    /// stops the validator.
    static func run<T>(
        _ configuration: TokenValidatorConfiguration,
        clock: any UnixClock = SystemClock(),
        logger: Logger = Logger(label: "token.validator", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ body: (TokenValidator) async throws -> T
    ) async throws -> T {
        let validator = TokenValidator(configuration: configuration, clock: clock, logger: logger)
        let task = Task { try await validator.run() }
        defer { task.cancel() }
        try await within(.seconds(20), "the validator to become ready") {
            try await validator.waitUntil(\.isReady)
        }
        let result = try await body(validator)
        task.cancel()
        _ = await task.result
        return result
    }
}

/// A bound on a wait: fails the test with `what` if `body` has not finished within `limit`.
func within<T: Sendable>(
    _ limit: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw HarnessError(message: "timed out after \(limit) waiting for \(what)")
        }
        return result
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
