import Logging
import NIOHTTP1
import TokenCore
import TokenHTTP
import TokenOAuth
import TokenRPC

/// tokend's OAuth endpoints on the HTTP port: `POST /oauth2/revoke` (RFC 7009, role `revoke`),
/// `POST /oauth2/introspect` (RFC 7662, role `validate`) and the RFC 8414 metadata. Callers
/// authenticate with an API key of the callers file, as the HTTP Basic password or a bearer token.
public struct OAuthRoutes: Sendable {
    /// The revocation endpoint's path.
    public static let revokePath = "/oauth2/revoke"
    /// The introspection endpoint's path.
    public static let introspectPath = "/oauth2/introspect"

    let callers: CallerRegistry
    let metadata: OAuthMetadata?
    /// Validate's answer for a token (no audience checked).
    let verify: @Sendable (String) throws(RPCError) -> VerificationResult
    /// Revoke by token for a caller: the same event as the RPC method's.
    let revoke: @Sendable (String, Caller) async throws -> Void

    /// Creates the routes.
    /// - Parameters:
    ///   - callers: who may call, with which roles.
    ///   - metadata: the RFC 8414 document; nil when the issuer is not a URL to publish it under.
    ///   - verify: Validate's answer for a token.
    ///   - revoke: Revoke by token, for a caller.
    public init(
        callers: CallerRegistry,
        metadata: OAuthMetadata?,
        verify: @escaping @Sendable (String) throws(RPCError) -> VerificationResult,
        revoke: @escaping @Sendable (String, Caller) async throws -> Void
    ) {
        self.callers = callers
        self.metadata = metadata
        self.verify = verify
        self.revoke = revoke
    }

    /// Answers a request for one of these endpoints.
    /// - Parameter request: the request.
    /// - Returns: the answer; nil when the path is none of these endpoints'.
    func respond(to request: HTTPRequest) async -> HTTPResponse? {
        switch request.path {
        case Self.revokePath:
            guard request.method == .POST else { return Self.methodNotAllowed }
            return await answer(request, role: .revoke) { form, caller in
                try await revoke(form.token, caller)
                return HTTPResponse(status: .ok, headers: ["cache-control": "no-store"])
            }
        case Self.introspectPath:
            guard request.method == .POST else { return Self.methodNotAllowed }
            return await answer(request, role: .validate) { form, _ in
                let result = try verify(form.token)
                guard result.isValid, let claims = result.claims else { return IntrospectionAnswer.inactive.response }
                return IntrospectionAnswer.active(claims).response
            }
        default:
            guard let metadata, metadata.paths.contains(request.path) else { return nil }
            guard request.method == .GET || request.method == .HEAD else {
                return HTTPResponse(status: .methodNotAllowed, headers: ["allow": "GET, HEAD"], body: "method not allowed\n")
            }
            return HTTPResponse(
                status: .ok,
                headers: ["content-type": "application/json", "cache-control": "public, max-age=300"],
                body: metadata.json
            )
        }
    }

    private static let methodNotAllowed = HTTPResponse(
        status: .methodNotAllowed, headers: ["allow": "POST"], body: "method not allowed\n")

    /// Authenticates the caller, checks its role, reads the form and runs `body`; maps failures to
    /// the RFC 6749 §5.2 answers (a store or follower outage to 503).
    private func answer(
        _ request: HTTPRequest,
        role: Role,
        _ body: (TokenRequestForm, Caller) async throws -> HTTPResponse
    ) async -> HTTPResponse {
        let form: TokenRequestForm
        let caller: Caller
        do {
            let credential = try ClientCredential.of(request)
            guard let credential, let known = callers.authenticate(credential: credential.key) else {
                return OAuthError.unauthenticated(presented: credential?.scheme, realm: "tokend").response
            }
            guard known.has(role) else {
                return OAuthError.forbidden("the API key lacks the \(role) role").response
            }
            caller = known
            form = try TokenRequestForm(request)
        } catch {
            return error.response
        }
        do {
            return try await body(form, caller)
        } catch let error as RPCError where error.code == .unavailable {
            return OAuthError.temporarilyUnavailable(error.message).response
        } catch {
            return HTTPResponse(status: .internalServerError, body: "internal error\n")
        }
    }
}
