import Foundation
import Logging
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenStore
import TokenTestSupport
import TokenWire

/// A real token service on a loopback port, on an embedded store in a fresh temporary directory,
/// with a clock the test moves, and one client per caller of the callers file.
final class TokenTestServer: Sendable {
    /// The callers every test server knows, by name: their API keys are their names.
    static let callers: [(name: String, roles: Set<Role>)] = [
        ("admin", [.admin]),
        ("issuer", [.issue]),
        ("validator", [.validate]),
        ("gateway", [.validate, .refresh, .revoke]),
        ("nobody", []),
    ]

    let clock: ManualClock
    let store: EmbeddedTokenStore
    /// The hooks between the service and `store`, when the server was started `hooked`.
    let hooks: HookedStore?
    let service: TokenService
    let server: RPCServer
    let port: Int
    let directory: String
    private let clients: CallerClients

    private init(
        clock: ManualClock,
        store: EmbeddedTokenStore,
        hooks: HookedStore?,
        service: TokenService,
        server: RPCServer,
        port: Int,
        directory: String,
        tasks: [Task<Void, any Error>]
    ) {
        self.clock = clock
        self.store = store
        self.hooks = hooks
        self.service = service
        self.server = server
        self.port = port
        self.directory = directory
        clients = CallerClients(port: port, tasks: tasks)
    }

    /// Starts a server, runs `body` with it, and stops it.
    /// - Parameter hooked: puts a `HookedStore` between the service and the embedded store.
    static func with<T>(
        configure: (inout TokenServiceConfiguration) -> Void = { _ in },
        hooked: Bool = false,
        _ body: (TokenTestServer) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory.make(prefix: "tokend-test")
        var configuration = TokenServiceConfiguration(issuer: "https://tokens.test")
        configure(&configuration)
        var logger = Logger(label: "tokend-test")
        logger.logLevel = .warning
        let clock = ManualClock()
        let store = try await EmbeddedTokenStore(directory: directory + "/data", logger: logger)
        let hooks = hooked ? HookedStore(base: store) : nil
        let service = try await TokenService(
            configuration: configuration, store: hooks ?? store, clock: clock, logger: logger)
        var rpc = RPCServerConfiguration()
        rpc.host = "127.0.0.1"
        rpc.port = 0
        let server = RPCServer(configuration: rpc, methods: service.methods, callers: registry, logger: logger)
        let tasks = [
            Task { try await service.run() },
            Task { try await server.run() },
        ]
        let address = try await server.listeningAddress()
        let testServer = TokenTestServer(
            clock: clock,
            store: store,
            hooks: hooks,
            service: service,
            server: server,
            port: address.port,
            directory: directory,
            tasks: tasks
        )
        do {
            let result = try await body(testServer)
            await testServer.stop()
            return result
        } catch {
            await testServer.stop()
            throw error
        }
    }

    /// A client presenting the API key of the named caller ("" for none, "wrong-key" for an unknown key).
    func client(_ caller: String) -> TokenServiceClient {
        clients.client(caller)
    }

    private func stop() async {
        await clients.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static var registry: CallerRegistry {
        CallerRegistry(
            entries: callers.map { caller in
                CallerEntry(name: caller.name, keySHA256: SHA256.hash(Array(caller.name.utf8)), roles: caller.roles)
            }
        )
    }
}

extension TokenServiceClient {
    /// Issues a token for `subject` with a refresh token.
    func login(_ subject: String, audience: [String] = ["api"]) async throws -> IssueResponse {
        try await issue(IssueRequest(subject: subject, audience: audience, scopes: ["read"], withRefreshToken: true))
    }
}

extension TokendProcess {
    /// Writes a callers file for `TokenTestServer.callers` (API key = name) into `directory`.
    static func writeCallersFile(in directory: String) throws -> String {
        try TestCallers(
            TokenTestServer.callers.map { .init(name: $0.name, roles: $0.roles.map(\.rawValue), key: $0.name) }
        ).writeCallersFile(in: directory)
    }
}
