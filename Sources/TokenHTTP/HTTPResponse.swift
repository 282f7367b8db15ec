import NIOCore
import NIOHTTP1

/// What a responder answers. The server adds `Content-Length` (except to 204 and 304) and
/// `Connection: close` when it closes the connection after the answer, and sends the headers alone
/// to HEAD.
public struct HTTPResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// The header fields.
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer

    /// Creates a response.
    /// - Parameters:
    ///   - status: the status.
    ///   - headers: the header fields.
    ///   - body: the body.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Creates a response with a text body.
    /// - Parameters:
    ///   - status: the status.
    ///   - headers: the header fields.
    ///   - body: the body, UTF-8.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: String) {
        self.init(status: status, headers: headers, body: ByteBuffer(string: body))
    }
}
