import NIOCore
import NIOHTTP1
import TokenCore

/// Answers the HTTP port's requests: `GET /.well-known/jwks.json`, `/healthz`, `/readyz` and
/// `/metrics`, to GET and HEAD; any other path is 404, any other method 405. Requests with too many header fields
/// or a body over the limit are refused and their connection closed.
final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A response before it is written.
    struct Response {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: String = ""
        /// Close the connection after this response.
        var close = false
        /// Send the headers only (an answer to HEAD), with the length the body would have.
        var headersOnly = false
    }

    private let routes: HTTPRoutes
    private let configuration: HTTPServerConfiguration
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var refused = false

    init(routes: HTTPRoutes, configuration: HTTPServerConfiguration) {
        self.routes = routes
        self.configuration = configuration
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch Self.unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            bodyBytes = 0
            if requestHead.headers.count > configuration.maxHeaderCount {
                refuse(.init(status: .requestHeaderFieldsTooLarge, body: "too many header fields\n"), context: context)
            }
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > configuration.maxBodyBytes {
                refuse(.init(status: .payloadTooLarge, body: "request body too large\n"), context: context)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            context.triggerUserOutboundEvent(HTTPConnectionEvent.requestComplete, promise: nil)
            answer(head, context: context)
        }
    }

    /// A request that does not parse: the protocol error handler has answered 400; close.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        refused = true
        context.close(promise: nil)
    }

    private func refuse(_ response: Response, context: ChannelHandlerContext) {
        refused = true
        var response = response
        response.close = true
        write(response, version: head?.version ?? .http1_1, context: context)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let keepAlive = head.isKeepAlive
        let headersOnly = head.method == .HEAD
        func send(_ response: Response) {
            var response = response
            response.close = response.close || !keepAlive
            response.headersOnly = headersOnly
            write(response, version: head.version, context: context)
        }
        guard Self.knownPaths.contains(String(path)) else {
            send(.init(status: .notFound, body: "not found\n"))
            return
        }
        guard head.method == .GET || head.method == .HEAD else {
            send(.init(status: .methodNotAllowed, headers: [("allow", "GET, HEAD")], body: "method not allowed\n"))
            return
        }
        switch path {
        case "/.well-known/jwks.json":
            send(keySetResponse(ifNoneMatch: head.headers["if-none-match"]))
        case "/healthz":
            send(.init(status: .ok, headers: [("content-type", "text/plain")], body: "ok\n"))
        case "/readyz":
            let readiness = routes.readiness
            context.eventLoop.makeFutureWithTask { await readiness() }.assumeIsolated().whenSuccess { reason in
                if let reason {
                    send(
                        .init(
                            status: .serviceUnavailable,
                            headers: [("content-type", "text/plain")],
                            body: "not ready: \(reason)\n"
                        )
                    )
                } else {
                    send(.init(status: .ok, headers: [("content-type", "text/plain")], body: "ready\n"))
                }
            }
        default:  // "/metrics"
            if let metrics = routes.metrics {
                send(.init(status: .ok, headers: [("content-type", "text/plain; version=0.0.4")], body: metrics()))
            } else {
                send(.init(status: .notFound, body: "not found\n"))
            }
        }
    }

    private static let knownPaths: Set<String> = ["/.well-known/jwks.json", "/healthz", "/readyz", "/metrics"]

    /// The JWK Set with its cache age and entity tag; 304 when the client's tag matches.
    private func keySetResponse(ifNoneMatch: [String]) -> Response {
        let (json, maxAge) = routes.keySet()
        let tag = Self.entityTag(of: json)
        let headers = [("cache-control", "public, max-age=\(maxAge)"), ("etag", tag)]
        if Self.matches(tag, ifNoneMatch) {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers + [("content-type", "application/json")], body: json)
    }

    /// A strong tag: the first 16 bytes of the SHA-256 of the body, in hex.
    static func entityTag(of body: String) -> String {
        let digest = SHA256.hash(Array(body.utf8)).prefix(16)
        let hex = digest.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }
        return "\"" + hex.joined() + "\""
    }

    /// Whether an If-None-Match header (a list of tags, weak or strong, or `*`) names `tag`.
    static func matches(_ tag: String, _ ifNoneMatch: [String]) -> Bool {
        for value in ifNoneMatch {
            for candidate in value.split(separator: ",") {
                var candidate = candidate.trimmingCharacters(in: " \t")
                if candidate == "*" { return true }
                if candidate.hasPrefix("W/") { candidate.removeFirst(2) }
                if candidate == tag { return true }
            }
        }
        return false
    }

    private func write(_ response: Response, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        let body = ByteBuffer(string: response.body)
        if response.status != .notModified {
            headers.replaceOrAdd(name: "content-length", value: "\(body.readableBytes)")
        }
        if response.close {
            headers.replaceOrAdd(name: "connection", value: "close")
        }
        context.write(
            Self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil
        )
        if body.readableBytes > 0, !response.headersOnly {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: written)
        let close = response.close
        written.futureResult.assumeIsolated().whenComplete { _ in
            if close {
                context.close(promise: nil)
            } else {
                context.triggerUserOutboundEvent(HTTPConnectionEvent.responseSent, promise: nil)
            }
        }
    }
}

@available(*, unavailable)
extension HTTPRequestHandler: Sendable {}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
