import NIOHTTP1
import TokenHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An OAuth endpoint's refusal (RFC 6749 §5.2, as RFC 7009 and RFC 7662 use it): a status, an error
/// code and a description, answered as JSON with `Cache-Control: no-store`.
public struct OAuthError: Error, Sendable, Hashable {
    /// The HTTP status.
    public let status: HTTPResponseStatus
    /// The error code, e.g. `invalid_request`.
    public let code: String
    /// A description for developers (never a secret).
    public let description: String
    /// The `WWW-Authenticate` challenge of a 401.
    public let challenge: String?

    /// 400 `invalid_request`: a parameter is missing, repeated or malformed.
    /// - Parameter description: what is wrong.
    public static func invalidRequest(_ description: String) -> Self {
        Self(status: .badRequest, code: "invalid_request", description: description, challenge: nil)
    }

    /// 401: the client's credential is missing or unknown. A bearer credential is answered as RFC
    /// 6750 asks (`invalid_token`), any other as RFC 6749 asks (`invalid_client` with a Basic
    /// challenge).
    /// - Parameters:
    ///   - presented: the scheme the client used; nil when it sent no credential.
    ///   - realm: the realm of the Basic challenge.
    public static func unauthenticated(presented: ClientCredential.Scheme?, realm: String) -> Self {
        if presented == .bearer {
            let description = "unknown credential"
            return Self(
                status: .unauthorized, code: "invalid_token", description: description,
                challenge: BearerChallenge.header(error: "invalid_token", description: description))
        }
        return Self(
            status: .unauthorized, code: "invalid_client",
            description: presented == nil ? "client authentication required" : "unknown credential",
            challenge: #"Basic realm="\#(realm)", charset="UTF-8""#)
    }

    /// 403 `unauthorized_client`: the client is known but may not call this endpoint.
    /// - Parameter description: what it lacks.
    public static func forbidden(_ description: String) -> Self {
        Self(status: .forbidden, code: "unauthorized_client", description: description, challenge: nil)
    }

    /// 503 `temporarily_unavailable`, with `Retry-After`: the answer cannot be known now.
    /// - Parameter description: why.
    public static func temporarilyUnavailable(_ description: String) -> Self {
        Self(status: .serviceUnavailable, code: "temporarily_unavailable", description: description, challenge: nil)
    }

    /// The answer to send.
    public var response: HTTPResponse {
        var headers: HTTPHeaders = ["content-type": "application/json", "cache-control": "no-store"]
        if let challenge {
            headers.add(name: "www-authenticate", value: challenge)
        }
        if status == .serviceUnavailable {
            headers.add(name: "retry-after", value: "1")
        }
        let body = (try? JSONEncoder().encode(Body(error: code, errorDescription: description))) ?? Data()
        return HTTPResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    private struct Body: Encodable {
        let error: String
        let errorDescription: String

        enum CodingKeys: String, CodingKey {
            case error, errorDescription = "error_description"
        }
    }
}
