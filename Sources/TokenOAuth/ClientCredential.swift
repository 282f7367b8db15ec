import TokenHTTP

/// The key a client of an OAuth endpoint authenticates with: the password of HTTP Basic (RFC 6749
/// §2.3.1: form-decoded; the user name is not checked) or a bearer token (RFC 6750).
public struct ClientCredential: Sendable, Hashable {
    /// How the client presented it.
    public enum Scheme: Sendable, Hashable {
        case basic
        case bearer
    }

    /// The key.
    public let key: String
    /// How it came.
    public let scheme: Scheme

    /// The credential of a request.
    /// - Parameter request: the request.
    /// - Returns: nil without an `Authorization` header or with another scheme.
    /// - Throws: `OAuthError.invalidRequest` for a malformed or repeated header.
    public static func of(_ request: HTTPRequest) throws(OAuthError) -> ClientCredential? {
        let authorization: HTTPAuthorization?
        do {
            authorization = try HTTPAuthorization(request.headers)
        } catch {
            throw .invalidRequest("authorization header: \(error.reason)")
        }
        switch authorization {
        case .bearer(let token):
            return ClientCredential(key: token, scheme: .bearer)
        case .basic(_, let password):
            do {
                return ClientCredential(key: try HTTPForm.decode(password.utf8), scheme: .basic)
            } catch {
                throw .invalidRequest("basic password: \(error.reason)")
            }
        case .other, nil:
            return nil
        }
    }
}
