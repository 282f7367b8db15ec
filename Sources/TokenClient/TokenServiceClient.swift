import TokenRPC
import TokenWire

/// A typed stub for `token.v1.TokenService`, over one `RPCClient` connection.
public struct TokenServiceClient: Sendable {
    /// The RPC client the calls go through.
    public let rpc: RPCClient

    /// Wraps an RPC client.
    /// - Parameter rpc: the connection (with the caller's credential) to call through.
    public init(wrapping rpc: RPCClient) {
        self.rpc = rpc
    }

    /// Mints an access token (and optionally a refresh token). Needs the `issue` role.
    /// - Throws: `RPCError` with the service's code.
    public func issue(_ request: IssueRequest, timeout: Duration? = nil) async throws -> IssueResponse {
        try await rpc.unary(TokenServiceMethod.issue, request, as: IssueResponse.self, timeout: timeout)
    }

    /// Asks the service whether a token is valid. Needs the `validate` role.
    /// - Throws: `RPCError` with the service's code (an invalid token is not an error).
    public func validate(_ request: ValidateRequest, timeout: Duration? = nil) async throws -> ValidateResponse {
        try await rpc.unary(TokenServiceMethod.validate, request, as: ValidateResponse.self, timeout: timeout)
    }

    /// Spends a refresh token for a new pair. Needs the `refresh` role.
    /// - Throws: `RPCError`; `unauthenticated` for an unknown, spent, expired or revoked token.
    public func refresh(_ request: RefreshRequest, timeout: Duration? = nil) async throws -> IssueResponse {
        try await rpc.unary(TokenServiceMethod.refresh, request, as: IssueResponse.self, timeout: timeout)
    }

    /// Revokes a token, a session or (with the `admin` role) a subject. Needs the `revoke` role.
    /// - Throws: `RPCError` with the service's code.
    public func revoke(_ request: RevokeRequest, timeout: Duration? = nil) async throws -> RevokeResponse {
        try await rpc.unary(TokenServiceMethod.revoke, request, as: RevokeResponse.self, timeout: timeout)
    }

    /// The published keys as a JWK Set. Open to all.
    /// - Throws: `RPCError` with the service's code.
    public func getKeys(timeout: Duration? = nil) async throws -> GetKeysResponse {
        try await rpc.unary(TokenServiceMethod.getKeys, GetKeysRequest(), as: GetKeysResponse.self, timeout: timeout)
    }

    /// The live stream of revocations. Needs the `validate` role.
    public func watchRevocations(
        _ request: WatchRevocationsRequest
    ) -> some AsyncSequence<RevocationBatch, any Error> & Sendable {
        rpc.serverStreaming(TokenServiceMethod.watchRevocations, request, as: RevocationBatch.self)
    }

    /// A subject's live sessions. Needs the `admin` role.
    /// - Throws: `RPCError` with the service's code.
    public func listSessions(_ request: ListSessionsRequest, timeout: Duration? = nil) async throws -> ListSessionsResponse {
        try await rpc.unary(TokenServiceMethod.listSessions, request, as: ListSessionsResponse.self, timeout: timeout)
    }

    /// Rotates the signing keys; with `revokePrevious` set, revokes the former ACTIVE key. Needs the
    /// `admin` role.
    /// - Throws: `RPCError` with the service's code.
    public func rotateKeys(
        _ request: RotateKeysRequest = RotateKeysRequest(),
        timeout: Duration? = nil
    ) async throws -> RotateKeysResponse {
        try await rpc.unary(TokenServiceMethod.rotateKeys, request, as: RotateKeysResponse.self, timeout: timeout)
    }

    /// Whether the service is serving, and on which store. Open to all.
    /// - Throws: `RPCError` with the service's code.
    public func health(timeout: Duration? = nil) async throws -> HealthResponse {
        try await rpc.unary(TokenServiceMethod.health, HealthRequest(), as: HealthResponse.self, timeout: timeout)
    }
}
