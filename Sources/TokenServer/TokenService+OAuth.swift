import TokenRPC
import TokenWire

extension TokenService {
    /// The OAuth endpoints of the HTTP port: introspection answers as Validate (no audience), and a
    /// revocation is a Revoke by token, the same event on the stream.
    /// - Parameter callers: who may call them.
    /// - Returns: the routes.
    public func oauthRoutes(callers: CallerRegistry) -> OAuthRoutes {
        OAuthRoutes(
            callers: callers,
            metadata: OAuthMetadata(issuer: configuration.issuer),
            verify: { [self] token throws(RPCError) in try verification(of: token, audience: nil) },
            revoke: { [self] token, caller in
                _ = try await revoke(
                    RevokeRequest(target: .token(token), reason: "oauth2 revoke"), caller: caller, logger: logger)
            }
        )
    }
}
