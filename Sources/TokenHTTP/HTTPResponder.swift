/// Answers the requests of an `HTTPServer`.
public protocol HTTPResponder: Sendable {
    /// Answers one request. Requests of one connection come one at a time, in order.
    /// - Parameter request: the request, body included.
    /// - Returns: the response.
    func respond(to request: HTTPRequest) async -> HTTPResponse
}
