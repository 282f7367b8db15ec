import TokenClient
import TokenCore
import TokenHTTP
import TokenOAuth

extension GateRoutes {
    /// RFC 7662 introspection: the caller presents the introspection key (Basic password or bearer),
    /// compared in constant time; `{"active": false}` for any token that is not valid, the claims
    /// of a valid one, 503 when the revocation state is unknown (fail-closed): never a guess.
    func introspect(_ request: HTTPRequest) async -> (HTTPResponse, GateOutcome) {
        guard let key = introspectionKey else {
            return (HTTPResponse(status: .notFound, body: "not found\n"), .notFound)
        }
        let form: TokenRequestForm
        do {
            let credential = try ClientCredential.of(request)
            guard let credential, constantTimeEquals(credential.key, key) else {
                let refusal = OAuthError.unauthenticated(presented: credential?.scheme, realm: "tokengate")
                return (refusal.response, .introspectUnauthenticated)
            }
            form = try TokenRequestForm(request)
        } catch {
            return (error.response, .introspectBadRequest)
        }
        let validation = await validator.verify(form.token)
        switch validation.outcome {
        case .valid:
            guard let claims = validation.claims else { break }
            return (IntrospectionAnswer.active(claims).response, .introspectActive)
        case .invalid:
            break
        case .unknown:
            return (OAuthError.temporarilyUnavailable("revocation state unknown").response, .introspectUnknown)
        }
        return (IntrospectionAnswer.inactive.response, .introspectInactive)
    }
}
