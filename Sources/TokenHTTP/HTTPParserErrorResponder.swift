import NIOCore
import NIOHTTP1

/// Answers a request the HTTP codec cannot parse, as NIO's `HTTPServerProtocolErrorHandler` does,
/// but with 431 for a request head over the parser's limit (80 KiB) rather than 400: a head too
/// large is a documented limit, not a malformed request. The error goes on down the pipeline, and
/// the codec closes the connection.
final class HTTPParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Whether an answer has begun and not ended: no error answer can be sent in its middle.
    private var answering = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, !answering {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            let headers = HTTPHeaders([("connection", "close"), ("content-length", "0")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: answering = true
        case .end: answering = false
        case .head, .body: break
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension HTTPParserErrorResponder: Sendable {}
