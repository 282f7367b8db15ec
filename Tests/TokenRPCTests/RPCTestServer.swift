import Logging
import NIOCore
import NIOPosix
import TokenRPC
import TokenServerCore
import TokenWire

/// A real `RPCServer` on 127.0.0.1 (free port) with methods that let tests steer their handlers.
///
/// Handlers report what happened by opening gates named after the event (e.g. "hang started"), so
/// tests wait for events instead of sleeping.
final class RPCTestServer: Sendable {
    static let echo = "/test.Test/Echo"
    static let inline = "/test.Test/Inline"
    static let secure = "/test.Test/Secure"
    static let wait = "/test.Test/Wait"
    static let hang = "/test.Test/Hang"
    static let typed = "/test.Test/Typed"
    static let fail = "/test.Test/Fail"
    static let count = "/test.Test/Count"
    static let flood = "/test.Test/Flood"
    static let forever = "/test.Test/Forever"
    static let callIDs = "/test.Test/CallID"
    static let executor = "/test.Test/Executor"
    static let later = "/test.Test/Later"
    static let deferredEcho = "/test.Test/DeferredEcho"
    static let bulk = "/test.Test/Bulk"
    static let bulkOnLoop = "/test.Test/BulkOnLoop"

    /// SHA-256 of "issuer-key", "validator-key" and "admin-key".
    static let issuerDigest = "5d3ba21c7e7f4616b9c059855555ba1c7dbd7cfa40398e9936c812941c3576a8"
    static let validatorDigest = "0d02a4c8f7234c85e50bad4e3696b49228807a7b59db12542c537ec314809e5f"
    static let adminDigest = "69a5265506c94c77b787a7d7377b7685a0eff82e33920a71e7ee22cd6154953e"

    /// issuer-key → issuer [issue]; validator-key → validator [validate]; admin-key → root [admin].
    static let callersJSON = """
        {"callers": [
          {"name": "issuer", "key_sha256": "\(issuerDigest)", "roles": ["issue"]},
          {"name": "validator", "key_sha256": "\(validatorDigest)", "roles": ["validate"]},
          {"name": "root", "key_sha256": "\(adminDigest)", "roles": ["admin"]}
        ]}
        """

    let server: RPCServer
    let gates: Gates
    let port: Int
    private let runTask: Task<Void, any Error>

    private init(server: RPCServer, gates: Gates, port: Int, runTask: Task<Void, any Error>) {
        self.server = server
        self.gates = gates
        self.port = port
        self.runTask = runTask
    }

    static func start(
        _ configuration: RPCServerConfiguration = .init(),
        port: Int = 0,
        gates: Gates = Gates(),
        logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> RPCTestServer {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = port
        let server = RPCServer(
            configuration: configuration,
            methods: methods(gates: gates),
            callers: try callers(),
            logger: logger
        )
        let runTask = Task { try await server.run() }
        let address = try await server.listeningAddress()
        return RPCTestServer(server: server, gates: gates, port: address.port, runTask: runTask)
    }

    /// Cancels the server (closing every connection) and waits until it has stopped.
    func stop() async {
        runTask.cancel()
        _ = await runTask.result
    }

    static func callers() throws -> CallerRegistry {
        let entries: [CallerEntry] = [
            CallerEntry(
                name: "issuer",
                keySHA256: hex(issuerDigest),
                roles: [.issue]
            ),
            CallerEntry(
                name: "validator",
                keySHA256: hex(validatorDigest),
                roles: [.validate]
            ),
            CallerEntry(
                name: "root",
                keySHA256: hex(adminDigest),
                roles: [.admin]
            ),
        ]
        return CallerRegistry(entries: entries)
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    static func methods(gates: Gates) -> [RPCMethod] {
        [
            .unary(echo, role: nil, request: RawBytes.self) { request, _ in request },
            .unary(executor, role: nil, request: RawBytes.self) { _, _ in
                let before = MultiThreadedEventLoopGroup.currentEventLoop != nil
                await Task.yield()
                let after = MultiThreadedEventLoopGroup.currentEventLoop != nil
                return RawBytes("\(before ? "event loop" : "elsewhere"), \(after ? "event loop" : "elsewhere")")
            },
            .synchronousUnary(inline, role: nil, request: RawBytes.self) { request, _ in
                guard request.text != "missing" else { throw RPCError.notFound("no such thing") }
                return RawBytes("inline " + request.text)
            },
            .unary(secure, role: .issue, request: RawBytes.self) { _, context in
                RawBytes(context.caller?.name ?? "")
            },
            .unary(wait, role: nil, request: RawBytes.self) { request, _ in
                gates.open("waiting \(request.text)")
                try await gates.wait(request.text)
                return request
            },
            .unary(hang, role: nil, request: RawBytes.self) { _, context in
                gates.open("hang started")
                do {
                    try await gates.wait("never opened")
                } catch {
                    gates.open("hang cancelled")
                    throw error
                }
                return RawBytes([])
            },
            .unary(typed, role: nil, request: RpcRequest.self) { request, _ in request },
            // Answers from another thread once "answer <text>" opens, then answers again (ignored).
            .deferredUnary(later, role: nil, request: RawBytes.self) { request, _, reply in
                guard request.text != "throw" else { throw RPCError.notFound("thrown before any wait") }
                gates.open("later started \(request.text)")
                Task.detached {
                    try await gates.wait("answer \(request.text)")
                    reply.succeed(RawBytes("later " + request.text))
                    reply.succeed(RawBytes("again"))
                    gates.open("replied \(request.text)")
                }
            },
            // Answers at once, from the connection's event loop, as Issue does after its commit.
            .deferredUnary(deferredEcho, role: nil, request: RawBytes.self) { request, _, reply in
                reply.succeed(request)
            },
            .unary(fail, role: nil, request: RawBytes.self) { _, _ -> RawBytes in
                throw TestFailure()
            },
            .unary(callIDs, role: nil, request: RawBytes.self) { _, context in
                RawBytes("\(context.callID)")
            },
            .serverStreaming(count, role: .validate, request: RawBytes.self, response: RawBytes.self) {
                request,
                _,
                writer in
                for index in 0..<(Int(request.text) ?? 0) {
                    try await writer.write(RawBytes("\(index)"))
                }
            },
            .serverStreaming(flood, role: nil, request: RawBytes.self, response: RawBytes.self) { _, _, writer in
                let chunk = RawBytes([UInt8](repeating: 0x5A, count: 16_384))
                do {
                    while true {
                        try await writer.write(chunk)
                    }
                } catch let error as RPCError {
                    gates.open("flood ended \(error.code)")
                    throw error
                }
            },
            // The number of 16 KiB messages the request names, numbered in their first 8 bytes.
            .serverStreaming(bulk, role: nil, request: RawBytes.self, response: RawBytes.self) { request, _, writer in
                for index in 0..<(Int(request.text) ?? 0) {
                    try await writer.write(numbered(index))
                }
            },
            // The same, written from the connection's event loop (as a live revocation stream writes),
            // where a message is queued at once while the connection has room and waits otherwise.
            .serverStreaming(bulkOnLoop, role: nil, request: RawBytes.self, response: RawBytes.self) {
                request,
                context,
                writer in
                try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: context.eventLoop)) {
                    guard context.eventLoop.inEventLoop else { throw TestFailure() }
                    for index in 0..<(Int(request.text) ?? 0) {
                        try await writer.write(numbered(index))
                    }
                }
            },
            .serverStreaming(forever, role: nil, request: RawBytes.self, response: RawBytes.self) { _, _, writer in
                try await writer.write(RawBytes("first"))
                gates.open("forever started")
                try await gates.wait("never opened")
            },
        ]
    }
}

/// A 16 KiB message carrying `index` in its first 8 bytes.
private func numbered(_ index: Int) -> RawBytes {
    var bytes = [UInt8](repeating: 0x42, count: 16_384)
    withUnsafeBytes(of: UInt64(index).bigEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    return RawBytes(bytes)
}

/// An error that is not an `RPCError`.
struct TestFailure: Error {}
