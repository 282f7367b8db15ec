import TokenCore
import TokenRPC
import TokenStore
import TokenWire

/// Bounds on what Issue accepts, so that every token stays well under the 8 KiB limit.
enum IssueLimits {
    static let subjectBytes = 1_024
    static let audienceCount = 32
    static let scopeCount = 64
    static let valueBytes = 256
    static let extraClaimsBytes = 4_096
    static let metadataCount = 32
    static let metadataKeyBytes = 128
    static let metadataValueBytes = 1_024
}

extension TokenService {
    /// Mints the tokens, then answers `reply` once the session is durable. The store answers on the
    /// call's event loop, so the reply is framed and written there without another hop.
    func issue(_ request: IssueRequest, context: RPCContext, reply: RPCReply<IssueResponse>) throws {
        try Self.checkIssueRequest(request)
        let now = clock.now()
        let sessionID = try TokenID.timeOrdered(unixMilliseconds: clock.nowMilliseconds())
        let session = SessionRecord(
            sessionID: sessionID.text,
            subject: request.subject,
            audience: request.audience,
            scopes: request.scopes,
            extraClaimsJSON: request.extraClaimsJSON,
            metadata: request.metadata,
            createdAt: now,
            refreshedAt: now,
            expiresAt: now
        )
        var minted = try mint(for: session, requestedTTL: request.accessTTLSeconds, now: now)
        var record = session
        var refreshRecord: RefreshTokenRecord?
        if request.withRefreshToken {
            let refresh = try newRefreshToken(sessionID: sessionID, now: now)
            minted.refreshToken = refresh.value
            minted.refreshExpiresAt = refresh.record.expiresAt
            refreshRecord = refresh.record
            record.expiresAt = refresh.record.expiresAt
        } else {
            record.expiresAt = minted.expiresAt
        }
        store.createSession(record, refreshToken: refreshRecord, on: context.eventLoop) { [minted] result in
            switch result {
            case .success:
                reply.succeed(minted)
            case .failure(let error) where error.isRevoked:
                // The subject was revoked in the second of this login or later (by a host whose
                // clock is ahead): its token would be refused. A later login gets a valid one.
                reply.fail(RPCError(code: .aborted, message: "the subject was revoked at or after this login; retry"))
            case .failure(let error):
                reply.fail(self.storeFailure(error))
            }
        }
    }

    /// Signs an access token for a session with the ACTIVE key.
    func mint(for session: SessionRecord, requestedTTL: UInt32, now: Int64) throws -> IssueResponse {
        let ttl = requestedTTL == 0 ? configuration.accessTTL : min(Int64(requestedTTL), configuration.accessTTL)
        let active = keys.snapshot.ring.active
        guard !revocations.isRevoked(keyID: active.keyID) else {
            // Another instance revoked it; this one is reading the new ring.
            throw RPCError(code: .unavailable, message: "the signing key was revoked; retry")
        }
        let claims = Claims(
            issuer: configuration.issuer,
            subject: session.subject,
            audience: session.audience,
            scopes: session.scopes,
            tokenID: try TokenID.random().text,
            sessionID: session.sessionID,
            issuedAt: now,
            expiresAt: now + ttl,
            notBefore: now,
            extraClaimsJSON: session.extraClaimsJSON
        )
        let token: String
        do {
            token = try TokenMinter().mint(claims: claims, key: active.key, keyID: active.keyID)
        } catch where error.isMalformedToken {
            throw RPCError(code: .invalidArgument, message: "the claims make a token over 8 KiB")
        }
        return IssueResponse(
            accessToken: token,
            tokenID: claims.tokenID,
            sessionID: session.sessionID,
            expiresAt: claims.expiresAt,
            keyID: active.keyID
        )
    }

    /// A fresh refresh token: its value (returned once) and the record that stores only its lookup key.
    func newRefreshToken(sessionID: TokenID, now: Int64) throws -> (value: String, record: RefreshTokenRecord) {
        let token = try RefreshToken.make(sessionID: sessionID)
        let record = RefreshTokenRecord(
            hash: token.key,
            sessionID: sessionID.text,
            issuedAt: now,
            expiresAt: now + configuration.refreshTTL
        )
        return (token.value, record)
    }

    static func checkIssueRequest(_ request: IssueRequest) throws {
        guard !request.subject.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "subject is empty")
        }
        guard request.subject.utf8.count <= IssueLimits.subjectBytes else {
            throw RPCError(code: .invalidArgument, message: "subject is over \(IssueLimits.subjectBytes) bytes")
        }
        try checkValues(request.audience, name: "audience", limit: IssueLimits.audienceCount)
        try checkValues(request.scopes, name: "scopes", limit: IssueLimits.scopeCount)
        if request.scopes.contains(where: { $0.utf8.contains(UInt8(ascii: " ")) }) {
            throw RPCError(code: .invalidArgument, message: "a scope contains a space")
        }
        guard request.metadata.count <= IssueLimits.metadataCount,
            request.metadata.allSatisfy({
                $0.key.utf8.count <= IssueLimits.metadataKeyBytes && $0.value.utf8.count <= IssueLimits.metadataValueBytes
            })
        else {
            throw RPCError(code: .invalidArgument, message: "metadata exceeds \(IssueLimits.metadataCount) entries or entry size limits")
        }
        if !request.extraClaimsJSON.isEmpty {
            guard request.extraClaimsJSON.utf8.count <= IssueLimits.extraClaimsBytes else {
                throw RPCError(code: .invalidArgument, message: "extra_claims_json is over \(IssueLimits.extraClaimsBytes) bytes")
            }
            do {
                _ = try Claims.validateExtraClaims(request.extraClaimsJSON)
            } catch {
                throw RPCError(code: .invalidArgument, message: "extra_claims_json: \(error)")
            }
        }
    }

    private static func checkValues(_ values: [String], name: String, limit: Int) throws {
        guard values.count <= limit else {
            throw RPCError(code: .invalidArgument, message: "\(name) has more than \(limit) values")
        }
        guard values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= IssueLimits.valueBytes }) else {
            throw RPCError(code: .invalidArgument, message: "\(name) values must be 1 to \(IssueLimits.valueBytes) bytes")
        }
    }
}
