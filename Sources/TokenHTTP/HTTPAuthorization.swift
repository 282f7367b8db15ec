import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The credentials of a request's `Authorization` header: a bearer token (RFC 6750 §2.1), a user
/// and password (Basic, RFC 7617), or another scheme, which servers here do not read.
public enum HTTPAuthorization: Sendable, Hashable {
    /// `Bearer <b64token>`.
    case bearer(String)
    /// `Basic <base64 of user:password>`, decoded as UTF-8.
    case basic(user: String, password: String)
    /// Another scheme (its name, as sent).
    case other(scheme: String)

    /// Parses one header value.
    /// - Parameter value: the field's value, e.g. `Bearer eyJ...`.
    /// - Throws: `HTTPAuthorizationError` when the value names Bearer or Basic but does not hold
    ///   what that scheme requires, or names no scheme at all.
    public init(parsing value: String) throws(HTTPAuthorizationError) {
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let scheme = parts[0]
        // The credentials follow one or more spaces.
        let credentials = parts.count == 2 ? parts[1].drop(while: { $0 == " " }) : ""
        switch scheme.lowercased() {
        case "bearer":
            guard Self.isB64Token(credentials) else { throw .malformed("a bearer token is not a b64token") }
            self = .bearer(String(credentials))
        case "basic":
            guard let decoded = Data(base64Encoded: String(credentials)),
                let text = String(data: decoded, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else { throw .malformed("basic credentials are not base64 of user:password") }
            self = .basic(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        case "":
            throw .malformed("no authentication scheme")
        default:
            self = .other(scheme: String(scheme))
        }
    }

    /// The credentials of a request.
    /// - Parameter headers: the request's header fields.
    /// - Returns: nil without an `Authorization` header.
    /// - Throws: `HTTPAuthorizationError` for a malformed value or more than one header.
    public init?(_ headers: HTTPHeaders) throws(HTTPAuthorizationError) {
        let values = headers["authorization"]
        guard let value = values.first else { return nil }
        guard values.count == 1 else { throw .malformed("more than one authorization header") }
        try self.init(parsing: value)
    }

    /// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
    /// One pass over the bytes: every request to the gate's `/auth` checks a token of some 300.
    private static func isB64Token(_ text: Substring) -> Bool {
        var characters = 0
        var padding = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding = true
            } else if padding || !isTokenCharacter(byte) {
                return false
            } else {
                characters += 1
            }
        }
        return characters > 0
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default: false
        }
    }
}

/// An `Authorization` header that does not hold what its scheme requires.
public struct HTTPAuthorizationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, for an error description (never the credentials).
    public let reason: String

    static func malformed(_ reason: String) -> Self {
        Self(reason: reason)
    }

    public var description: String { reason }
}
