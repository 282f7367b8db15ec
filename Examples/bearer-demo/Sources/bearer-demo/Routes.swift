import Hummingbird
import TokenClient

/// The body of `GET /whoami`: who the bearer token speaks for.
struct WhoAmIResponse: ResponseEncodable {
    let sub: String
    let sid: String
    let jti: String
    /// The scopes, space-separated as in the token.
    let scope: String
}

/// Builds the demo's routes: `GET /healthz` (open) and `GET /whoami` (behind the bearer middleware).
func buildRouter(validator: TokenValidator) -> Router<BearerRequestContext> {
    let router = Router(context: BearerRequestContext.self)

    // Readiness: 200 while the validator can answer on its own (keys loaded, mirror fresh).
    router.get("healthz") { request, context in
        let state = validator.state
        var response = try context.responseEncoder.encode(state, from: request, context: context)
        response.status = state.isReady ? .ok : .serviceUnavailable
        return response
    }

    router.group()
        .add(middleware: BearerTokenMiddleware(validator: validator))
        .get("whoami") { _, context -> WhoAmIResponse in
            // The middleware lets no request through without claims.
            guard let claims = context.claims else { throw HTTPError(.unauthorized) }
            return WhoAmIResponse(
                sub: claims.subject,
                sid: claims.sessionID,
                jti: claims.tokenID,
                scope: claims.scopes.joined(separator: " ")
            )
        }
    return router
}
