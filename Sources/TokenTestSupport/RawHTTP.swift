import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A raw HTTP/1.1 client over TCP, so tests can send what clients must not: sends bytes, reads until
/// the server closes.
public enum RawHTTP {
    /// What the server sent, with the first response's status line, headers and the rest as body.
    public struct Response: Sendable {
        /// Everything the server sent.
        public let raw: String
        /// The first response's status code; 0 when nothing parsed.
        public var status: Int = 0
        /// The first response's header fields, names lowercased.
        public var headers: [String: String] = [:]
        /// Everything after the first response's head.
        public var body = ""

        /// Parses what a server sent.
        public init(raw: String) {
            self.raw = raw
            guard let split = raw.range(of: "\r\n\r\n") else { return }
            let lines = raw[..<split.lowerBound].components(separatedBy: "\r\n")
            status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces
                )
            }
            body = String(raw[split.upperBound...])
        }
    }

    /// An open connection.
    public final class Connection: Sendable {
        /// The channel.
        public let channel: any Channel
        /// What arrives on it.
        public let collector: Collector

        init(channel: any Channel, collector: Collector) {
            self.channel = channel
            self.collector = collector
        }

        /// Sends `text` as it is.
        public func send(_ text: String) async throws {
            try await channel.writeAndFlush(ByteBuffer(string: text)).get()
        }

        /// Waits until the server has sent at least `count` bytes, or closed the connection.
        public func waitForBytes(atLeast count: Int = 1) async throws {
            try await collector.received(atLeast: count).get()
        }

        /// Closes the connection.
        public func close() async throws {
            try await channel.close()
        }
    }

    /// Collects what arrives; `closed` completes with everything at the end.
    public final class Collector: ChannelInboundHandler, Sendable {
        public typealias InboundIn = ByteBuffer
        /// Completed with everything received once the connection closes.
        public let closed: EventLoopPromise<String>
        private let eventLoop: any EventLoop
        private typealias Waiter = (count: Int, promise: EventLoopPromise<Void>)
        private let state = Mutex<(bytes: [UInt8], ended: Bool, waiters: [Waiter])>(([], false, []))

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
            closed = eventLoop.makePromise()
        }

        /// Completes once at least `count` bytes have arrived or the connection has closed.
        func received(atLeast count: Int) -> EventLoopFuture<Void> {
            let promise = eventLoop.makePromise(of: Void.self)
            let now = state.withLock { state in
                guard state.bytes.count < count, !state.ended else { return true }
                state.waiters.append((count, promise))
                return false
            }
            if now {
                promise.succeed()
            }
            return promise.futureResult
        }

        public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = Self.unwrapInboundIn(data)
            let ready = state.withLock { state in
                state.bytes.append(contentsOf: buffer.readableBytesView)
                let count = state.bytes.count
                let ready = state.waiters.filter { $0.count <= count }.map(\.promise)
                state.waiters.removeAll { $0.count <= count }
                return ready
            }
            ready.forEach { $0.succeed() }
        }

        public func channelInactive(context: ChannelHandlerContext) {
            let (bytes, waiters) = state.withLock { state in
                state.ended = true
                defer { state.waiters.removeAll() }
                return (state.bytes, state.waiters.map(\.promise))
            }
            waiters.forEach { $0.succeed() }
            closed.succeed(String(decoding: bytes, as: UTF8.self))
        }

        public func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// Opens a connection to a loopback port.
    public static func open(port: Int) async throws -> Connection {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = Collector(eventLoop: eventLoop)
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
            return Connection(channel: channel, collector: collector)
        } catch {
            collector.closed.fail(error)
            throw error
        }
    }

    /// Sends `request` and returns everything the server sent before it closed the connection.
    public static func exchange(port: Int, _ request: String) async throws -> Response {
        let connection = try await open(port: port)
        // A server that refuses the connection may have closed it before the request is written.
        try? await connection.send(request)
        return Response(raw: try await connection.collector.closed.futureResult.get())
    }

    /// A GET of `path` that asks the server to close afterwards.
    public static func get(port: Int, _ path: String) async throws -> Response {
        try await exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    }
}
