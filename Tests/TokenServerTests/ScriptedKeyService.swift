import Logging
import Synchronization
import TokenCore
import TokenRPC
import TokenWire

/// A stand-in for `tokend` on a loopback port: GetKeys answers the keys it was given (and counts the
/// calls), and every WatchRevocations stream gets an empty snapshot of epoch 7, then the batches the
/// test sends, as they come. What a validator does with key events a real server never sends.
final class ScriptedKeyService: Sendable {
    /// What the methods share with the test.
    private final class State: Sendable {
        let keys: GetKeysResponse
        let calls = Atomic<Int>(0)
        let streams = Mutex<[AsyncStream<RevocationBatch>.Continuation]>([])

        init(keys: GetKeysResponse) {
            self.keys = keys
        }
    }

    let port: Int
    private let state: State
    private let task: Task<Void, any Error>

    /// Starts the service publishing `keys`, runs `body`, and stops it.
    static func with<T>(
        publishing keys: [WirePublicKey],
        _ body: (ScriptedKeyService) async throws -> T
    ) async throws -> T {
        let service = try await ScriptedKeyService(publishing: keys)
        defer {
            service.state.streams.withLock { $0 }.forEach { $0.finish() }
            service.task.cancel()
        }
        return try await body(service)
    }

    private init(publishing keys: [WirePublicKey]) async throws {
        let state = State(keys: GetKeysResponse(keys: keys, jwksJSON: "{\"keys\":[]}", cacheMaxAgeSeconds: 300))
        let methods: [RPCMethod] = [
            .synchronousUnary(TokenServiceMethod.getKeys, role: nil, request: GetKeysRequest.self) { _, _ in
                state.calls.add(1, ordering: .relaxed)
                return state.keys
            },
            .serverStreaming(
                TokenServiceMethod.watchRevocations, role: .validate, request: WatchRevocationsRequest.self,
                response: RevocationBatch.self
            ) { _, _, writer in
                let (batches, continuation) = AsyncStream.makeStream(of: RevocationBatch.self)
                state.streams.withLock { $0.append(continuation) }
                try await writer.write(RevocationBatch(snapshot: true, epoch: 7))
                try await writer.write(RevocationBatch(snapshot: false, epoch: 7))
                for await batch in batches {
                    try await writer.write(batch)
                }
            },
        ]
        var configuration = RPCServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        var logger = Logger(label: "scripted-key-service")
        logger.logLevel = .critical
        let server = RPCServer(
            configuration: configuration, methods: methods, callers: TokenTestServer.registry, logger: logger)
        task = Task { try await server.run() }
        port = try await server.listeningAddress().port
        self.state = state
    }

    /// GetKeys calls answered so far.
    var getKeysCalls: Int {
        state.calls.load(ordering: .relaxed)
    }

    /// Sends `events` to every open stream as one live batch with head `head`.
    func send(_ events: [WireRevocationEvent], head: UInt64) {
        for stream in state.streams.withLock({ $0 }) {
            stream.yield(RevocationBatch(events: events, headSeq: head, snapshot: false, epoch: 7))
        }
    }
}
