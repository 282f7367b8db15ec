import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TokenCore
import TokenHTTP
import TokenPrometheus
import TokenRPC
import TokenRedisStore
import TokenServer
import TokenStore
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `tokend`: the token service.
@main
struct Tokend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokend",
        abstract: "Issues, validates, refreshes and revokes access tokens over the token.v1 RPC protocol."
    )

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:7070"

    @Option(help: "Directory of the embedded store and the signing keys (required without --store).")
    var dataDir: String?

    @Option(help: "Callers file (JSON): names, SHA-256 of API keys, roles.")
    var callers: String

    @Option(help: "The issuer (iss) of every token.")
    var issuer: String

    @Option(
        help: """
            Shared state in Redis, redis[s]://[USER:PASSWORD@]HOST:PORT[/DB] (rediss: TLS) or \
            redis-sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB] (default: the embedded \
            store); USER:@ leaves the password to --store-password-file. The signing keys are sealed \
            under TOKEND_MASTER_KEY (64 hex characters).
            """)
    var store: String?

    @OptionGroup
    var storeOptions: RedisStoreOptions

    @Option(help: "Algorithm of new signing keys: EdDSA or ES256.")
    var algorithm: String = "EdDSA"

    @Option(help: "Default and maximum access token lifetime, in seconds.")
    var accessTtl: Int64 = 900

    @Option(help: "Session lifetime from its last refresh, in seconds.")
    var refreshTtl: Int64 = 2_592_000

    @Option(help: "Seconds after a refresh during which the spent token is answered as a retry (0: off).")
    var refreshReuseGrace: Int64 = 10

    @Option(help: "Seconds between key rotations.")
    var rotateEvery: Int64 = 86_400

    @Option(help: "Clock skew tolerated when exp, nbf and iat are checked, in seconds (0 to 300).")
    var leeway: Int64 = 30

    @Option(help: "TLS certificate chain of the RPC port, PEM (with --tls-key; reloaded on SIGHUP).")
    var tlsCert: String?

    @Option(help: "TLS private key of the RPC port, PEM (with --tls-cert; reloaded on SIGHUP).")
    var tlsKey: String?

    @Option(help: "CA certificates, PEM: clients must present a certificate one of them signed (mutual TLS).")
    var tlsClientCa: String?

    @Option(help: "HTTP port for the JWK Set, probes, metrics and the OAuth endpoints, HOST:PORT (default: off).")
    var httpListen: String?

    @Option(help: "Seconds shutdown waits for calls in flight and open connections before closing them.")
    var drainTimeout: Int64 = 10

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Log format: text (one line of key=value per event) or json (one object per line).")
    var logFormat: String = "text"

    func validate() throws {
        guard TokenAlgorithm(rawValue: algorithm) != nil else {
            throw ValidationError("--algorithm must be EdDSA or ES256")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("--log-format must be text or json")
        }
        guard drainTimeout > 0 else {
            throw ValidationError("--drain-timeout must be positive")
        }
        guard (0...300).contains(leeway) else {
            throw ValidationError("--leeway must be 0 to 300 seconds")
        }
        guard accessTtl > 0, refreshTtl > 0, refreshReuseGrace >= 0, rotateEvery > 0 else {
            throw ValidationError("lifetimes must be positive (the reuse grace may be 0)")
        }
        guard !issuer.isEmpty else {
            throw ValidationError("--issuer must not be empty")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard tlsClientCa == nil || tlsCert != nil else {
            throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
        }
        guard store != nil || dataDir != nil else {
            throw ValidationError("--data-dir is required without --store")
        }
    }

    /// The RPC port's TLS settings, nil without --tls-cert.
    var tls: RPCServerTLSConfiguration? {
        guard let tlsCert, let tlsKey else { return nil }
        return RPCServerTLSConfiguration(
            certificateChainFile: tlsCert,
            privateKeyFile: tlsKey,
            clientCAFile: tlsClientCa
        )
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                return JSONLogHandler(logLevel: level, label: label)
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tokend")
        // The one place metrics are bootstrapped; libraries only record.
        let metricsRegistry = PrometheusBootstrap.bootstrap(
            valueBuckets: ["token_store_commit_batch_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]])

        let endpoint: RPCEndpoint
        do {
            endpoint = try RPCEndpoint(parsing: listen)
        } catch {
            throw ValidationError("--listen must be HOST:PORT: \(error)")
        }
        var httpEndpoint: RPCEndpoint?
        if let httpListen {
            do {
                httpEndpoint = try RPCEndpoint(parsing: httpListen)
            } catch {
                throw ValidationError("--http-listen must be HOST:PORT: \(error)")
            }
        }
        // Unusable TLS files stop tokend before it opens the store.
        try tls?.checkFiles()

        var service = TokenServiceConfiguration(issuer: issuer)
        service.algorithm = TokenAlgorithm(rawValue: algorithm) ?? .edDSA
        service.accessTTL = accessTtl
        service.refreshTTL = refreshTtl
        service.refreshReuseGrace = refreshReuseGrace
        service.rotateEvery = rotateEvery
        service.leeway = leeway

        let registry = try CallerRegistry(contentsOfFile: callers)
        let tokenStore = try await openStore(logger: logger)
        let tokenService = try await TokenService(configuration: service, store: tokenStore, logger: logger)

        var rpc = RPCServerConfiguration()
        rpc.host = endpoint.host
        rpc.port = endpoint.port
        rpc.tls = tls
        rpc.drainTimeout = .seconds(drainTimeout)
        if rpc.tls == nil {
            logger.warning(
                "the RPC port is not encrypted: API keys and tokens cross the network in clear; use --tls-cert and --tls-key"
            )
        }
        let server = RPCServer(configuration: rpc, methods: tokenService.methods, callers: registry, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: tokenService), .init(service: server),
        ]
        var httpServer: HTTPServer?
        if let httpEndpoint {
            var http = HTTPServerConfiguration()
            http.host = httpEndpoint.host
            http.port = httpEndpoint.port
            http.drainTimeout = .seconds(drainTimeout)
            // The OAuth endpoints take a token of up to 8 KiB in a form.
            http.maxBodyBytes = 16_384
            if !["localhost", "::1"].contains(http.host), !http.host.hasPrefix("127.") {
                logger.warning(
                    "the HTTP port is plain HTTP: API keys and tokens sent to its /oauth2 endpoints cross the network in clear; put a TLS proxy in front"
                )
            }
            let routes = tokenService.httpRoutes(callers: registry) { [tokenService] in
                tokenService.recordKeyMetrics()
                return metricsRegistry.emitToString()
            }
            let httpServerInstance = HTTPServer(configuration: http, responder: routes, logger: logger)
            services.append(.init(service: httpServerInstance))
            httpServer = httpServerInstance
        }
        services.append(
            .init(service: ReadinessAnnouncer(service: tokenService, server: server, httpServer: httpServer)))
        if rpc.tls != nil {
            // Trapped before the ready line, so a SIGHUP right after it reloads instead of killing.
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            services.append(.init(service: TLSReloader(server: server, hangups: hangups, logger: logger)))
        }

        // Shut down in reverse order: the RPC server drains its calls before the service closes the store.
        // The drain timeout bounds the whole shutdown: what is still running then is cancelled.
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(drainTimeout)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
    }
}

extension Tokend {
    /// The Redis store when `--store` names one, else the embedded store in `--data-dir`.
    func openStore(logger: Logger) async throws -> any TokenStore {
        guard let store else {
            return try await EmbeddedTokenStore(directory: dataDir ?? ".", logger: logger)
        }
        var redis: RedisConfiguration
        do {
            redis = try RedisConfiguration(url: store)
        } catch {
            throw StartupError("--store: \(error)")
        }
        try storeOptions.apply(to: &redis, environment: ProcessInfo.processInfo.environment, logger: logger)
        let configuration = RedisTokenStoreConfiguration(redis: redis, masterKey: try Self.masterKey())
        do {
            return try await RedisTokenStore(configuration: configuration, logger: logger)
        } catch {
            throw StartupError("--store \(redis): \(error)")
        }
    }

    /// The 32-byte key of `TOKEND_MASTER_KEY` (64 hex characters).
    static func masterKey() throws -> [UInt8] {
        let name = "TOKEND_MASTER_KEY"
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else {
            throw StartupError(
                "\(name) is not set: the Redis store seals the signing keys under it (64 hex characters)")
        }
        let key = Hex.decode(text) ?? []
        guard key.count == 32 else {
            throw StartupError("\(name) must be 64 hex characters (a 256-bit key)")
        }
        return key
    }
}

/// A reason `tokend` cannot start, printed as one line.
struct StartupError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Prints the line external harnesses wait for once every method can be answered (the server is
/// bound, and on Redis the revocations are followed), and a second one for the HTTP port when there
/// is one.
struct ReadinessAnnouncer: Service {
    let service: TokenService
    let server: RPCServer
    let httpServer: HTTPServer?

    func run() async throws {
        let address = try await server.listeningAddress()
        do {
            try await cancelWhenGracefulShutdown { try await service.waitUntilReady() }
        } catch {
            return  // shut down before it was ready
        }
        print("tokend listening on \(address.host):\(address.port)")
        if let httpServer {
            let httpAddress = try await httpServer.listeningAddress()
            print("tokend http listening on \(httpAddress.host):\(httpAddress.port)")
        }
        fflush(nil)
        try? await gracefulShutdown()
    }
}

/// Reloads the RPC port's TLS certificates and keys on SIGHUP; a failed reload keeps the old ones.
struct TLSReloader: Service {
    let server: RPCServer
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            do {
                try await server.reloadTLS()
            } catch {
                logger.error("tls reload failed: keeping the previous certificates", metadata: ["error": "\(error)"])
            }
        }
    }
}
