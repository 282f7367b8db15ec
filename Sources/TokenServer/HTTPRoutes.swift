import NIOHTTP1
import TokenCore
import TokenHTTP

/// What tokend's HTTP port serves, as a responder for `HTTPServer`: `GET /.well-known/jwks.json`,
/// `/healthz`, `/readyz` and `/metrics`, to GET and HEAD, and with `oauth` the OAuth endpoints
/// (`OAuthRoutes`); any other path is 404, any other method 405. Nothing here returns a secret.
public struct HTTPRoutes: HTTPResponder {
    /// The JWK Set of the published keys and how long clients may cache it, in seconds.
    public var keySet: @Sendable () -> (json: String, maxAgeSeconds: UInt32)
    /// Nil when the service is ready to serve, else why it is not.
    public var readiness: @Sendable () async -> String?
    /// The metrics in the Prometheus text format; nil: `/metrics` is not served.
    public var metrics: (@Sendable () -> String)?
    /// The OAuth endpoints (RFC 7009, 7662, 8414); nil: not served.
    public var oauth: OAuthRoutes?

    /// Creates the routes.
    /// - Parameters:
    ///   - keySet: the JWK Set and its cache age.
    ///   - readiness: nil when ready, else the reason.
    ///   - metrics: the Prometheus text, or nil for no `/metrics`.
    ///   - oauth: the OAuth endpoints, or nil for none.
    public init(
        keySet: @escaping @Sendable () -> (json: String, maxAgeSeconds: UInt32),
        readiness: @escaping @Sendable () async -> String?,
        metrics: (@Sendable () -> String)? = nil,
        oauth: OAuthRoutes? = nil
    ) {
        self.keySet = keySet
        self.readiness = readiness
        self.metrics = metrics
        self.oauth = oauth
    }

    private static let knownPaths: Set<String> = ["/.well-known/jwks.json", "/healthz", "/readyz", "/metrics"]

    /// Answers one request; the query string is ignored.
    /// - Parameter request: the request.
    /// - Returns: the route's answer, 404 or 405.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        if let oauth, let response = await oauth.respond(to: request) {
            return response
        }
        guard Self.knownPaths.contains(request.path) else {
            return HTTPResponse(status: .notFound, body: "not found\n")
        }
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPResponse(
                status: .methodNotAllowed,
                headers: ["allow": "GET, HEAD"],
                body: "method not allowed\n"
            )
        }
        switch request.path {
        case "/.well-known/jwks.json":
            return keySetResponse(ifNoneMatch: request.headers["if-none-match"])
        case "/healthz":
            return HTTPResponse(status: .ok, headers: ["content-type": "text/plain"], body: "ok\n")
        case "/readyz":
            if let reason = await readiness() {
                return HTTPResponse(
                    status: .serviceUnavailable,
                    headers: ["content-type": "text/plain"],
                    body: "not ready: \(reason)\n"
                )
            }
            return HTTPResponse(status: .ok, headers: ["content-type": "text/plain"], body: "ready\n")
        default:  // "/metrics"
            guard let metrics else {
                return HTTPResponse(status: .notFound, body: "not found\n")
            }
            return HTTPResponse(status: .ok, headers: ["content-type": "text/plain; version=0.0.4"], body: metrics())
        }
    }

    /// The JWK Set with its cache age and entity tag; 304 when the client's tag matches.
    private func keySetResponse(ifNoneMatch: [String]) -> HTTPResponse {
        let (json, maxAge) = keySet()
        let tag = Self.entityTag(of: json)
        var headers: HTTPHeaders = ["cache-control": "public, max-age=\(maxAge)", "etag": tag]
        if Self.matches(tag, ifNoneMatch) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        headers.add(name: "content-type", value: "application/json")
        return HTTPResponse(status: .ok, headers: headers, body: json)
    }

    /// A strong tag: the first 16 bytes of the SHA-256 of the body, in hex.
    static func entityTag(of body: String) -> String {
        "\"" + Hex.encode(SHA256.hash(Array(body.utf8)).prefix(16)) + "\""
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
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
