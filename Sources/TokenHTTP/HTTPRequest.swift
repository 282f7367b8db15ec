import NIOCore
import NIOHTTP1

/// A request an `HTTPServer` hands its responder: whole, its body included (at most
/// `HTTPServerConfiguration.maxBodyBytes`).
public struct HTTPRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The path: the request target up to `?`, as sent (not decoded).
    public var path: String
    /// The query: the request target after `?`, as sent; nil without a `?`.
    public var query: String?
    /// The header fields.
    public var headers: HTTPHeaders
    /// The body; empty without one.
    public var body: ByteBuffer
    /// The protocol version.
    public var version: HTTPVersion

    /// Creates a request (the server makes them; tests may too).
    /// - Parameters:
    ///   - method: the method.
    ///   - target: the request target, path and query.
    ///   - headers: the header fields.
    ///   - body: the body.
    ///   - version: the protocol version.
    public init(
        method: HTTPMethod,
        target: String,
        headers: HTTPHeaders = [:],
        body: ByteBuffer = ByteBuffer(),
        version: HTTPVersion = .http1_1
    ) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.method = method
        self.path = String(parts.first ?? "")
        self.query = parts.count > 1 ? String(parts[1]) : nil
        self.headers = headers
        self.body = body
        self.version = version
    }
}
