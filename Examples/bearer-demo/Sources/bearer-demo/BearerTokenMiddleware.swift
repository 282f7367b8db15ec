import Hummingbird
import TokenClient
import TokenCore
import enum TokenHTTP.BearerChallenge
import enum TokenHTTP.HTTPAuthorization

/// A request context that carries the claims of the request's verified bearer token.
protocol AuthenticatedRequestContext: RequestContext {
    /// The verified token's claims; set by `BearerTokenMiddleware`, nil before it ran.
    var claims: Claims? { get set }
}

/// Lets a request through only with a valid `Authorization: Bearer <token>` (RFC 6750), and puts the
/// token's claims into the request context.
///
/// - No credentials, or another scheme: 401 with `WWW-Authenticate: Bearer`.
/// - A malformed bearer header: 400 with `error="invalid_request"`.
/// - An invalid token: 401 with `error="invalid_token"` and the reason (`revoked`, `expired`, ...).
/// - Revocation state unknown (the policy is fail-closed and the service is unreachable): 503 with
///   `Retry-After`, so clients retry instead of dropping their token.
struct BearerTokenMiddleware<Context: AuthenticatedRequestContext>: RouterMiddleware {
    let validator: TokenValidator

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = try Self.bearerToken(in: request) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "bearer token required")
        }
        let validation = await validator.verify(token)
        switch validation.outcome {
        case .valid:
            var context = context
            context.claims = validation.claims
            return try await next(request, context)
        case .invalid:
            throw Self.challenge(.unauthorized, error: "invalid_token", description: validation.reasonName)
        case .unknown:
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: validation.reasonName)
        }
    }

    /// The token of an `Authorization: Bearer` header; nil without credentials or for another scheme.
    /// - Throws: a 400 `invalid_request` challenge when the header names Bearer but is malformed.
    static func bearerToken(in request: Request) throws -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        do {
            guard case .bearer(let token) = try HTTPAuthorization(parsing: header) else { return nil }
            return token
        } catch {
            throw challenge(.badRequest, error: "invalid_request", description: "malformed authorization header")
        }
    }

    private static func challenge(_ status: HTTPResponse.Status, error: String, description: String) -> HTTPError {
        HTTPError(
            status,
            headers: [.wwwAuthenticate: BearerChallenge.header(error: error, description: description)],
            message: description
        )
    }
}
