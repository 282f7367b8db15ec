import NIOHTTP1
import TokenClient
import TokenHTTP

extension GateRoutes {
    /// Forward auth (nginx `auth_request`, Caddy `forward_auth`, Traefik `forwardAuth`, Envoy
    /// `ext_authz`): the token of `Authorization: Bearer`, the audience of `?audience=` or else the
    /// validator's. Any method is answered the same way.
    ///
    /// - valid: 200 with `X-Auth-Subject`, `X-Auth-Session`, `X-Auth-Token-Id`, `X-Auth-Scope`
    ///   (space-separated) and `X-Auth-Expires` (Unix seconds);
    /// - no bearer token: 401 `WWW-Authenticate: Bearer`;
    /// - invalid: 401 `Bearer error="invalid_token", error_description="<reason>"`; a malformed or
    ///   repeated header: 401 with `error="invalid_request"` (RFC 6750 says 400, which nginx would
    ///   turn into 500);
    /// - revocation state unknown (fail-closed): 503 with `Retry-After`;
    /// - a query that does not parse or repeats `audience`: 400.
    func forwardAuth(_ request: HTTPRequest) async -> (HTTPResponse, GateOutcome) {
        var audience: String?
        do throws(HTTPFormError) {
            if let query = request.query {
                audience = try HTTPForm(parsing: query.utf8).value(of: "audience")
            }
        } catch {
            return (HTTPResponse(status: .badRequest, body: "query: \(error.reason)\n"), .authBadQuery)
        }
        guard audience != "" else {
            return (HTTPResponse(status: .badRequest, body: "query: audience is empty\n"), .authBadQuery)
        }
        let token: String
        do {
            guard case .bearer(let bearer) = try HTTPAuthorization(request.headers) else {
                return (Self.refusal(BearerChallenge.header(), body: "bearer token required"), .authNoToken)
            }
            token = bearer
        } catch {
            let challenge = BearerChallenge.header(error: "invalid_request", description: error.reason)
            return (Self.refusal(challenge, body: error.reason), .authMalformed)
        }
        let validation = await validator.verify(token, audience: audience)
        switch validation.outcome {
        case .valid:
            guard let claims = validation.claims else { break }
            let headers: HTTPHeaders = [
                "x-auth-subject": AuthHeaderValue.encode(claims.subject),
                "x-auth-session": AuthHeaderValue.encode(claims.sessionID),
                "x-auth-token-id": AuthHeaderValue.encode(claims.tokenID),
                "x-auth-scope": AuthHeaderValue.encode(claims.scopes.joined(separator: " ")),
                "x-auth-expires": String(claims.expiresAt),
                "cache-control": "no-store",
            ]
            return (HTTPResponse(status: .ok, headers: headers), .authValid)
        case .invalid:
            break
        case .unknown:
            let headers: HTTPHeaders = ["retry-after": "1", "cache-control": "no-store"]
            return (
                HTTPResponse(status: .serviceUnavailable, headers: headers, body: "revocation state unknown\n"),
                .authUnknown
            )
        }
        let reason = validation.reasonName
        return (
            Self.refusal(BearerChallenge.header(error: "invalid_token", description: reason), body: reason),
            .authInvalid
        )
    }

    /// A 401 with its challenge.
    private static func refusal(_ challenge: String, body: String) -> HTTPResponse {
        HTTPResponse(
            status: .unauthorized,
            headers: ["www-authenticate": challenge, "cache-control": "no-store"],
            body: body + "\n"
        )
    }
}
