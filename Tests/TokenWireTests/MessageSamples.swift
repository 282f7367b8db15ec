import TokenWire

/// Messages with a non-default value in every field, shared by the round-trip, encoding and randomized
/// tests.
enum MessageSamples {
    static let issueRequest = IssueRequest(
        subject: "usér-42",
        audience: ["api", "billing"],
        scopes: ["read", "write"],
        extraClaimsJSON: #"{"tenant":"acme"}"#,
        accessTTLSeconds: 600,
        withRefreshToken: true,
        metadata: ["ip": "192.0.2.1", "user_agent": "curl/8.5"]
    )

    static let issueResponse = IssueResponse(
        accessToken: "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
        tokenID: "AAAAAAAAAAAAAAAAAAAAAA",
        sessionID: "sess-1",
        expiresAt: 1_800_000_000,
        refreshToken: "rt-opaque",
        refreshExpiresAt: 1_802_592_000,
        keyID: "k1"
    )

    static let refreshRequest = RefreshRequest(refreshToken: "rt-opaque", accessTTLSeconds: .max)

    static let validateRequest = ValidateRequest(token: "eyJ.e30.sig", audience: "api")

    static let claims = WireClaims(
        subject: "usér-42",
        issuer: "https://issuer.example",
        audience: ["api"],
        scopes: ["read", "write"],
        tokenID: "jti-1",
        sessionID: "sid-1",
        issuedAt: 1_700_000_000,
        expiresAt: 1_700_000_900,
        notBefore: -1,
        extraClaimsJSON: #"{"x":1}"#
    )

    static let validateResponse = ValidateResponse(valid: true, reason: .revoked, claims: claims)

    /// An unknown reason and claims that are present but empty.
    static let validateResponseUnknownReason = ValidateResponse(
        valid: false,
        reason: .unrecognized(42),
        claims: WireClaims()
    )

    /// One request per oneof case, an empty but set target, and an unset target.
    static let revokeRequests: [RevokeRequest] = [
        RevokeRequest(target: .token("eyJ.e30.sig"), reason: "compromised"),
        RevokeRequest(target: .tokenID("jti-1"), reason: "compromised"),
        RevokeRequest(target: .sessionID("sid-1"), reason: "logout"),
        RevokeRequest(target: .subject("usér-42"), reason: "offboarded"),
        RevokeRequest(target: .token("")),
        RevokeRequest(reason: "no target"),
    ]

    static let revokeResponse = RevokeResponse(seq: .max, sessionsRevoked: 3)

    static let publicKey = WirePublicKey(
        keyID: "k1",
        algorithm: "EdDSA",
        publicKeyDER: [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00, 0x01, 0x02],
        notBefore: 1_700_000_000,
        notAfter: 1_800_000_000,
        state: .retiring
    )

    static let getKeysResponse = GetKeysResponse(
        keys: [
            publicKey,
            WirePublicKey(keyID: "k2", algorithm: "ES256", publicKeyDER: [0x30, 0x59], state: .unrecognized(7)),
        ],
        jwksJSON: #"{"keys":[]}"#,
        cacheMaxAgeSeconds: 300
    )

    static let rotateKeysRequest = RotateKeysRequest(revokePrevious: true)

    static let rotateKeysResponse = RotateKeysResponse(keyID: "k2", seq: .max, revokedKeyID: "k1")

    static let watchRevocationsRequest = WatchRevocationsRequest(sinceSeq: 12_345_678_901, epoch: 1_234_567_890_123)

    static let revocationEvent = WireRevocationEvent(
        seq: 7,
        kind: .subject,
        value: "usér-42",
        revokedAt: 1_700_000_000,
        expiresAt: 1_700_086_400
    )

    /// A key ring change: the published keys, one of an unknown state.
    static let keyRingEvent = WireRevocationEvent(
        seq: 9,
        kind: .keyRing,
        revokedAt: 1_700_000_001,
        keys: getKeysResponse.keys
    )

    /// Includes an event with a negative (unknown) kind and a negative time.
    static let revocationBatch = RevocationBatch(
        events: [revocationEvent, WireRevocationEvent(seq: 8, kind: .unrecognized(-1), value: "x", revokedAt: -5)],
        headSeq: 8,
        snapshot: true,
        epoch: 1_234_567_890_123
    )

    static let listSessionsRequest = ListSessionsRequest(subject: "usér-42")

    static let session = WireSession(
        sessionID: "sid-1",
        subject: "usér-42",
        createdAt: 1,
        refreshedAt: 2,
        expiresAt: 3,
        metadata: ["ip": "::1", "ua": "Mozilla/5.0"]
    )

    static let listSessionsResponse = ListSessionsResponse(sessions: [session, WireSession(sessionID: "sid-2")])

    static let healthResponse = HealthResponse(serving: true, store: "redis", version: "1.0.0")
}
