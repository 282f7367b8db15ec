import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TokenClient
import TokenRPC

/// An HTTP service whose `/whoami` accepts only requests with a valid bearer token from tokend.
@main
struct BearerDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bearer-demo",
        abstract: "An HTTP service that accepts requests with a valid bearer token issued by tokend."
    )

    /// The largest key file accepted.
    static let maximumKeyFileSize = 4096

    @Option(help: "Where to serve HTTP, HOST:PORT (port 0 picks a free one).")
    var listen: String

    @Option(help: "The tokend RPC endpoint, HOST:PORT.")
    var tokend: String

    @Option(help: "A file holding an API key with the validate role.")
    var keyFile: String

    @Option(help: "The issuer every token must carry.")
    var issuer: String

    @Option(help: "The audience every token must carry (not checked when omitted).")
    var audience: String?

    @Option(help: "Seconds without news from tokend before the revocation mirror counts as stale.")
    var staleAfter: Int = 5

    @Flag(help: "Accept tokens with a good signature while the revocation state is unknown.")
    var failOpen = false

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard staleAfter > 0 else { throw ValidationError("--stale-after must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        let listenEndpoint: RPCEndpoint
        let tokendEndpoint: RPCEndpoint
        do {
            listenEndpoint = try RPCEndpoint(parsing: listen)
            tokendEndpoint = try RPCEndpoint(parsing: tokend)
        } catch {
            throw ValidationError("\(error)")
        }
        let key = try Self.readKey(from: keyFile)

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "bearer-demo")

        var configuration = TokenValidatorConfiguration(
            endpoints: [tokendEndpoint],
            credential: key,
            issuer: issuer
        )
        configuration.audience = audience
        configuration.staleAfter = .seconds(staleAfter)
        configuration.policy = failOpen ? .failOpen : .failClosed
        let validator = TokenValidator(configuration: configuration, logger: logger)

        let app = Application(
            router: buildRouter(validator: validator),
            configuration: .init(address: .hostname(listenEndpoint.host, port: listenEndpoint.port)),
            onServerRunning: { channel in
                Self.announce(host: channel.localAddress?.ipAddress, port: channel.localAddress?.port)
            },
            logger: logger
        )

        // The validator starts first and stops last, so the server never runs without it.
        let group = ServiceGroup(
            configuration: .init(
                services: [validator, app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// Prints the one line a supervisor waits for, with the port actually bound.
    static func announce(host: String?, port: Int?) {
        guard let host, let port else { return }
        let hostText = host.contains(":") ? "[\(host)]" : host
        // FileHandle writes are unbuffered: the line is out before the first request can arrive.
        FileHandle.standardOutput.write(Data("bearer-demo listening on \(hostText):\(port)\n".utf8))
    }

    /// Reads the API key: the file's text without surrounding whitespace.
    /// - Throws: `ExitCode(2)` after a one-line message when the file is missing, unreadable, empty
    ///   or larger than `maximumKeyFileSize`.
    static func readKey(from path: String) throws -> String {
        func refuse(_ reason: String) -> ExitCode {
            FileHandle.standardError.write(Data("bearer-demo: key file \(path): \(reason)\n".utf8))
            return ExitCode(2)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw refuse("cannot open") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumKeyFileSize + 1) ?? Data()
        } catch {
            throw refuse("cannot read")
        }
        guard data.count <= maximumKeyFileSize else { throw refuse("larger than \(maximumKeyFileSize) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw refuse("not UTF-8 text") }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw refuse("empty") }
        return key
    }
}
