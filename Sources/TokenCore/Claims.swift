/// The claims of an access token (section 5 of the contract): what the minter writes and the
/// verifier returns.
public struct Claims: Sendable, Hashable {
    /// The claim names the service sets itself; extra claims must not use them.
    public static let registeredNames: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope"]

    /// `iss`.
    public var issuer: String
    /// `sub`.
    public var subject: String
    /// `aud`: a string in the token when there is one element, an array otherwise, absent when empty.
    public var audience: [String]
    /// `scope`, split at spaces; absent from the token when empty.
    public var scopes: [String]
    /// `jti`.
    public var tokenID: String
    /// `sid`; absent from the token when empty.
    public var sessionID: String
    /// `iat` (Unix seconds).
    public var issuedAt: Int64
    /// `exp` (Unix seconds).
    public var expiresAt: Int64
    /// `nbf` (Unix seconds).
    public var notBefore: Int64
    /// The other claims, as the text of one JSON object; "" for none.
    public var extraClaimsJSON: String

    /// Creates claims.
    public init(
        issuer: String,
        subject: String,
        audience: [String],
        scopes: [String],
        tokenID: String,
        sessionID: String,
        issuedAt: Int64,
        expiresAt: Int64,
        notBefore: Int64,
        extraClaimsJSON: String = ""
    ) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.scopes = scopes
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.extraClaimsJSON = extraClaimsJSON
    }

    /// Checks text meant as extra claims: a JSON object none of whose names is registered.
    /// - Parameter json: The text ("" stands for no extra claims).
    /// - Returns: The parsed object (empty for "").
    /// - Throws: `TokenError.invalidJSON` when it is not a strict JSON object, `TokenError.invalidClaims`
    ///   naming the first registered claim it contains.
    public static func validateExtraClaims(_ json: String) throws(TokenError) -> JSONObject {
        guard !json.isEmpty else { return JSONObject(uniqueMembers: []) }
        let object = try JSONValue.parseObject(json)
        if let name = object.names.first(where: registeredNames.contains) {
            throw .invalidClaims("extra claim \"\(name)\" is set by the service")
        }
        return object
    }
}
