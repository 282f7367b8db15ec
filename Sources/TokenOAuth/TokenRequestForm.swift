import TokenHTTP

/// The form of an RFC 7009 revocation or RFC 7662 introspection request: `token`, and optionally
/// `token_type_hint`, in an `application/x-www-form-urlencoded` body. Other fields are ignored.
public struct TokenRequestForm: Sendable, Hashable {
    /// The token, as presented.
    public let token: String
    /// The client's guess of the token's type (`access_token`, `refresh_token`); nil when not given.
    /// Servers here identify the token whatever it says, as RFC 7009 allows.
    public let tokenTypeHint: String?

    /// Reads the form of a request.
    /// - Parameter request: a POST request.
    /// - Throws: `OAuthError.invalidRequest` when the body is not a form, does not parse, or holds no
    ///   `token` (or repeats a parameter).
    public init(_ request: HTTPRequest) throws(OAuthError) {
        let contentType = request.headers["content-type"].first ?? ""
        // The media type before any parameter (`; charset=UTF-8`); it holds no spaces.
        let mediaType = String(contentType.prefix { $0 != ";" }).filter { $0 != " " && $0 != "\t" }.lowercased()
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw .invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        let token: String?
        do {
            let form = try HTTPForm(body: request.body)
            token = try form.value(of: "token")
            tokenTypeHint = try form.value(of: "token_type_hint")
        } catch {
            throw .invalidRequest("the form: \(error.reason)")
        }
        guard let token, !token.isEmpty else {
            throw .invalidRequest("the token parameter is required")
        }
        self.token = token
    }
}
