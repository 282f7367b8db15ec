import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TokenClient
import TokenGate
import TokenHTTP
import TokenPrometheus
import TokenRPC

/// `tokengate`: a sidecar that answers gateways' forward-auth requests and RFC 7662 introspection
/// from one `TokenValidator`.
@main
struct TokenGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokengate",
        abstract: "Answers forward-auth and introspection requests from a local token validator.",
        discussion: """
            Routes: /auth (forward auth, any method), POST /introspect (RFC 7662, with \
            --introspect-key-file), /healthz, /metrics. Prints "tokengate listening on HOST:PORT" once \
            the keys are loaded and the revocation mirror is current.
            """
    )

    @Option(help: "Where to serve HTTP, HOST:PORT (port 0 picks a free one).")
    var listen: String

    @Option(help: "tokend's RPC endpoints, HOST:PORT[,HOST:PORT...], tried in order.")
    var tokend: String

    @Option(help: "A file holding an API key with the validate role.")
    var keyFile: String

    @Option(help: "The issuer every token must carry.")
    var issuer: String

    @Option(help: "The audience tokens must carry unless /auth?audience= names another (default: not checked).")
    var audience: String?

    @Option(help: "Seconds without news from tokend before the revocation mirror counts as stale.")
    var staleAfter: Int = 5

    @Flag(help: "Accept tokens with a good signature while the revocation state is unknown.")
    var failOpen = false

    @Option(help: "A file holding the key callers of POST /introspect present (default: no /introspect).")
    var introspectKeyFile: String?

    @Option(help: "Speak TLS to tokend, trusting the CA certificates in this PEM file.")
    var tlsCa: String?

    @Option(help: "Client certificate chain for mutual TLS with tokend, PEM (with --tls-key).")
    var tlsCert: String?

    @Option(help: "Private key of --tls-cert, PEM.")
    var tlsKey: String?

    @Option(help: "The name tokend's certificate must carry (default: the --tokend host).")
    var tlsServerName: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard staleAfter > 0 else { throw ValidationError("--stale-after must be a positive number of seconds") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard !issuer.isEmpty else { throw ValidationError("--issuer must not be empty") }
        guard audience != "" else { throw ValidationError("--audience must not be empty") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        _ = try listenEndpoint()
        _ = try tokendEndpoints()
    }

    func listenEndpoint() throws -> RPCEndpoint {
        do {
            return try RPCEndpoint(parsing: listen)
        } catch {
            throw ValidationError("--listen must be HOST:PORT, not \(listen)")
        }
    }

    func tokendEndpoints() throws -> [RPCEndpoint] {
        do {
            return try tokend.split(separator: ",", omittingEmptySubsequences: false).map {
                try RPCEndpoint(parsing: String($0))
            }
        } catch {
            throw ValidationError("--tokend must be HOST:PORT[,HOST:PORT...], not \(tokend)")
        }
    }

    /// TLS towards tokend: on when any --tls option is given (without --tls-ca, the system's CAs).
    var tls: RPCClientTLSConfiguration? {
        guard tlsCa != nil || tlsCert != nil || tlsServerName != nil else { return nil }
        return RPCClientTLSConfiguration(
            trustRootsFile: tlsCa, certificateChainFile: tlsCert, privateKeyFile: tlsKey, serverName: tlsServerName)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tokengate")
        let key = try Self.readKey(keyFile, option: "--key-file", logger: logger)
        let introspectionKey = try introspectKeyFile.map {
            try Self.readKey($0, option: "--introspect-key-file", logger: logger)
        }
        do {
            try tls?.checkFiles()
        } catch {
            FileHandle.standardError.write(Data("tokengate: TLS towards tokend: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let metricsRegistry = PrometheusBootstrap.bootstrap()

        var validatorConfiguration = TokenValidatorConfiguration(
            endpoints: try tokendEndpoints(), credential: key, issuer: issuer)
        validatorConfiguration.audience = audience
        validatorConfiguration.staleAfter = .seconds(staleAfter)
        validatorConfiguration.policy = failOpen ? .failOpen : .failClosed
        validatorConfiguration.rpc.tls = tls
        let validator = TokenValidator(configuration: validatorConfiguration, logger: logger)

        let endpoint = try listenEndpoint()
        var http = HTTPServerConfiguration.gate
        http.host = endpoint.host
        http.port = endpoint.port
        if !Self.isLoopback(endpoint.host) {
            logger.warning(
                "tokengate serves plain HTTP: bearer tokens and the introspection key cross the network in clear; listen on loopback, or on a network that encrypts for you"
            )
        }
        let routes = GateRoutes(
            validator: validator, introspectionKey: introspectionKey, metricsText: { metricsRegistry.emitToString() })
        let server = HTTPServer(configuration: http, responder: routes, logger: logger)

        // Shut down in reverse order: the server drains its requests before the validator stops.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: validator), .init(service: server),
                .init(service: GateAnnouncer(server: server, validator: validator)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = http.drainTimeout
        try await ServiceGroup(configuration: groupConfiguration).run()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A key file's key; warns when group or others may read it.
    /// - Throws: `ExitCode(2)` after a one-line message when the file cannot serve (see `SecretFile`).
    private static func readKey(_ path: String, option: String, logger: Logger) throws -> String {
        do {
            let secret = try SecretFile.read(path, holding: "key")
            if secret.exposed {
                logger.warning("a key file can be read by group or others", metadata: ["path": "\(path)"])
            }
            return secret.text
        } catch {
            FileHandle.standardError.write(Data("tokengate: \(option) \(path): \(error)\n".utf8))
            throw ExitCode(2)
        }
}

/// Prints the line supervisors wait for, once the port is bound and the validator can answer on its
/// own (keys loaded, revocation mirror current).
struct GateAnnouncer: Service {
    let server: HTTPServer
    let validator: TokenValidator

    func run() async throws {
        let address = try await server.listeningAddress()
        do {
            try await cancelWhenGracefulShutdown { try await validator.waitUntil(\.isReady) }
        } catch {
            return  // shut down before it was ready
        }
        let host = address.host.contains(":") ? "[\(address.host)]" : address.host
        // FileHandle writes are unbuffered: the line is out before the first request can arrive.
        FileHandle.standardOutput.write(Data("tokengate listening on \(host):\(address.port)\n".utf8))
        try? await gracefulShutdown()
    }
    }
}
