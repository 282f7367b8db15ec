import Logging
import ServiceLifecycle
import TokenCore
import TokenRPC
import TokenRedisStore
import TokenServer
import TokenStore

/// A token service and its RPC server in this process, on an embedded store, with one caller,
/// `bench` (API key "bench"), holding the admin role.
struct BenchService {
    /// The loopback port the server listens on.
    let port: Int
    private let services: ServiceGroup
    private let task: Task<Void, any Error>

    /// Opens the store (the embedded one in `directory`, or Redis when `redisURL` is given) and
    /// starts the service and the server on a free port.
    static func start(
        configuration: TokenServiceConfiguration,
        directory: String,
        redisURL: String? = nil,
        logger: Logger
    ) async throws -> BenchService {
        let store: any TokenStore
        if let redisURL {
            // A fixed master key: the benchmark's keys protect nothing.
            store = try await RedisTokenStore(
                configuration: RedisTokenStoreConfiguration(
                    redis: try RedisConfiguration(url: redisURL), masterKey: [UInt8](repeating: 0x42, count: 32)),
                logger: logger)
        } else {
            store = try await EmbeddedTokenStore(directory: directory, logger: logger)
        }
        let service = try await TokenService(configuration: configuration, store: store, logger: logger)
        var rpcConfiguration = RPCServerConfiguration()
        rpcConfiguration.port = 0
        let callers = CallerRegistry(
            entries: [CallerEntry(name: "bench", keySHA256: SHA256.hash(Array("bench".utf8)), roles: [.admin])]
        )
        let server = RPCServer(configuration: rpcConfiguration, methods: service.methods, callers: callers, logger: logger)
        // As in tokend: shutting down stops the server first, which lets calls in flight finish,
        // then the service, which closes the store.
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: service), .init(service: server)],
                gracefulShutdownSignals: [],
                logger: logger
            )
        )
        let task = Task { try await services.run() }
        do {
            let port = try await server.listeningAddress().port
            // As tokend before its listening line: on Redis, once the revocation log is followed.
            try await service.waitUntilReady()
            return BenchService(port: port, services: services, task: task)
        } catch {
            task.cancel()
            throw error
        }
    }

    /// Shuts the server and the service down gracefully and waits for them.
    func stop() async throws {
        await services.triggerGracefulShutdown()
        try await task.value
    }

    /// Cancels them without waiting (for a run that ends with an error).
    func cancel() {
        task.cancel()
    }
}
