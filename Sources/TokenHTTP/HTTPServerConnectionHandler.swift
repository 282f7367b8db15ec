import NIOCore
import NIOHTTP1
import ServiceLifecycle
import TokenServerCore

/// Sets up and serves the connections of an `HTTPServer`: the timeouts, the HTTP/1.1 codec (a request
/// that does not parse is answered 400, a head over 80 KiB 431) and a `NIOAsyncChannel`, then one request after
/// another: read it whole, ask the responder, write the answer.
struct HTTPServerConnectionHandler: ServerConnectionHandler {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder

    func setUp(channel: any Channel) throws -> Connection {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            HTTPDeadlineHandler(readTimeout: configuration.readTimeout, idleTimeout: configuration.idleTimeout)
        )
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try pipeline.addHandler(HTTPParserErrorResponder())
        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
    }

    func serve(_ connection: Connection) async {
        let channel = connection.channel
        try? await connection.executeThenClose { inbound, outbound in
            try await withGracefulShutdownHandler {
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    guard case .head(let head) = part else { return }
                    guard let request = try await read(head, from: &parts, outbound: outbound, channel: channel) else {
                        return
                    }
                    channel.triggerUserOutboundEvent(HTTPConnectionEvent.requestComplete, promise: nil)
                    let response = await responder.respond(to: request)
                    // Shutting down: this answer is the connection's last, and says so.
                    let close = !head.isKeepAlive || Task.isShuttingDownGracefully
                    try await write(response, to: request, close: close, outbound: outbound, channel: channel)
                    guard !close else { return }
                    channel.triggerUserOutboundEvent(HTTPConnectionEvent.responseSent, promise: nil)
                }
            } onGracefulShutdown: {
                channel.triggerUserOutboundEvent(HTTPConnectionEvent.drain, promise: nil)
            }
        }
    }

    /// Reads the rest of the request that `head` starts.
    /// - Returns: the request, or nil when it was refused (the connection is then to close).
    private func read(
        _ head: HTTPRequestHead,
        from parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel
    ) async throws -> HTTPRequest? {
        var request = HTTPRequest(method: head.method, target: head.uri, headers: head.headers, version: head.version)
        if head.headers.count > configuration.maxHeaderCount {
            let response = HTTPResponse(status: .requestHeaderFieldsTooLarge, body: "too many header fields\n")
            try await write(response, to: request, close: true, outbound: outbound, channel: channel)
            return nil
        }
        while let part = try await parts.next() {
            switch part {
            case .body(var chunk):
                guard request.body.readableBytes + chunk.readableBytes <= configuration.maxBodyBytes else {
                    let response = HTTPResponse(status: .payloadTooLarge, body: "request body too large\n")
                    try await write(response, to: request, close: true, outbound: outbound, channel: channel)
                    return nil
                }
                request.body.writeBuffer(&chunk)
            case .end:
                return request
            case .head:
                return nil
            }
        }
        return nil
    }

    /// Writes `response` to the socket, waiting while it cannot take more, and returns once it has
    /// all left (the promise of its last part tells).
    private func write(
        _ response: HTTPResponse,
        to request: HTTPRequest,
        close: Bool,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel
    ) async throws {
        var headers = response.headers
        if response.status != .notModified, response.status != .noContent {
            headers.replaceOrAdd(name: "content-length", value: "\(response.body.readableBytes)")
        }
        if close {
            headers.replaceOrAdd(name: "connection", value: "close")
        }
        var parts: [HTTPServerResponsePart] = [
            .head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))
        ]
        if response.body.readableBytes > 0, request.method != .HEAD {
            parts.append(.body(.byteBuffer(response.body)))
        }
        try await outbound.write(contentsOf: parts)
        try await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
    }
}
