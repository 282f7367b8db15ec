import Foundation
import Logging
import NIOPosix
import TokenClient
import TokenCore
import TokenRPC
import TokenRedisStore
import TokenServer
import TokenTestSupport
import TokenWire

/// Two token services in this process on one Redis (`TOKEN_REDIS_URL`) under a key prefix of their
/// own, each with its own clock, store connection and RPC port: two `tokend` instances whose
/// clocks may disagree.
final class RedisInstancePair: Sendable {
    /// One instance: its clock and a client per caller of `TokenTestServer.callers`.
    struct Instance: Sendable {
        let clock: ManualClock
        let clients: CallerClients
        /// Its RPC port on 127.0.0.1.
        let port: Int

        /// The client presenting the API key of the named caller.
        func client(_ caller: String) -> TokenServiceClient {
            clients.client(caller)
        }
    }

    let a: Instance
    let b: Instance

    private init(a: Instance, b: Instance) {
        self.a = a
        self.b = b
    }

    /// Starts both instances (B's clock `skew` seconds ahead of A's), runs `body`, and stops them.
    static func with<T>(skew: Int64, _ body: (RedisInstancePair) async throws -> T) async throws -> T {
        let prefix = "test:\(UUID().uuidString):tok:v1:"
        let start: Int64 = 1_800_000_000
        // One after the other: A creates the key ring, B loads it.
        let a = try await instance(prefix: prefix, clock: ManualClock(start: start))
        let b: Instance
        do {
            b = try await instance(prefix: prefix, clock: ManualClock(start: start + skew))
        } catch {
            await a.clients.stop()
            throw error
        }
        let pair = RedisInstancePair(a: a, b: b)
        do {
            // Validate answers once each instance follows the revocation stream.
            for instance in [a, b] {
                try await waitUntilValidating(instance)
            }
            let result = try await body(pair)
            await b.clients.stop()
            await a.clients.stop()
            return result
        } catch {
            await b.clients.stop()
            await a.clients.stop()
            throw error
        }
    }

    private static func instance(prefix: String, clock: ManualClock) async throws -> Instance {
        var logger = Logger(label: "redis-pair-test")
        logger.logLevel = .critical
        let store = try await RedisTokenStore(
            configuration: RedisTokenStoreConfiguration(
                redis: try RedisConfiguration(url: try RedisTestServer.requiredURL()), keyPrefix: prefix,
                masterKey: [UInt8](repeating: 0x42, count: 32), clock: clock),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        let service = try await TokenService(
            configuration: TokenServiceConfiguration(issuer: "https://tokens.test"), store: store, clock: clock,
            logger: logger)
        var rpc = RPCServerConfiguration()
        rpc.host = "127.0.0.1"
        rpc.port = 0
        let server = RPCServer(
            configuration: rpc, methods: service.methods, callers: TokenTestServer.registry, logger: logger)
        let tasks = [
            Task { try await service.run() },
            Task { try await server.run() },
        ]
        let address = try await server.listeningAddress()
        return Instance(clock: clock, clients: CallerClients(port: address.port, tasks: tasks), port: address.port)
    }

    private static func waitUntilValidating(_ instance: Instance) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                _ = try await instance.client("validator").validate(ValidateRequest(token: "x"))
                return
            } catch let error as RPCError where error.code == .unavailable && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
