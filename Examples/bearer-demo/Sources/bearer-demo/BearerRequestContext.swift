import Hummingbird
import TokenCore

/// The demo's request context: Hummingbird's core storage plus the bearer token's claims.
struct BearerRequestContext: AuthenticatedRequestContext {
    var coreContext: CoreRequestContextStorage
    var claims: Claims?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.claims = nil
    }
}
