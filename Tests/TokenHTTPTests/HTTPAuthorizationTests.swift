import NIOHTTP1
import Testing
import TokenHTTP

/// The `Authorization` header as RFC 6750 (Bearer) and RFC 7617 (Basic) define it, and RFC 6750's
/// challenge.
@Suite struct HTTPAuthorizationTests {
    @Test func bearerTokensAreB64Tokens() throws {
        #expect(try HTTPAuthorization(parsing: "Bearer eyJh.bGc-_~+/x==") == .bearer("eyJh.bGc-_~+/x=="))
        #expect(try HTTPAuthorization(parsing: "bearer   abc") == .bearer("abc"))
        for malformed in ["Bearer", "Bearer ", "Bearer a b", "Bearer a=b", "Bearer =", "Bearer ab\u{7F}", "Bearer é"] {
            #expect(throws: HTTPAuthorizationError.self, "\(malformed)") { try HTTPAuthorization(parsing: malformed) }
        }
    }

    @Test func basicCredentialsAreDecoded() throws {
        // "client:s3cr%3At:x" — the password runs to the end, colons included.
        #expect(
            try HTTPAuthorization(parsing: "Basic Y2xpZW50OnMzY3IlM0F0Ong=")
                == .basic(user: "client", password: "s3cr%3At:x"))
        #expect(try HTTPAuthorization(parsing: "BASIC Og==") == .basic(user: "", password: ""))
        for malformed in ["Basic", "Basic !!!", "Basic dXNlcg==", "Basic /w=="] {
            #expect(throws: HTTPAuthorizationError.self, "\(malformed)") { try HTTPAuthorization(parsing: malformed) }
        }
    }

    @Test func otherSchemesAreNamedAndNotRead() throws {
        #expect(try HTTPAuthorization(parsing: "Digest username=x") == .other(scheme: "Digest"))
        #expect(throws: HTTPAuthorizationError.self) { try HTTPAuthorization(parsing: " Bearer abc") }
    }

    @Test func aRequestHasAtMostOneHeader() throws {
        #expect(try HTTPAuthorization(HTTPHeaders()) == nil)
        #expect(try HTTPAuthorization(["authorization": "Bearer abc"]) == .bearer("abc"))
        #expect(throws: HTTPAuthorizationError.self) {
            try HTTPAuthorization(HTTPHeaders([("authorization", "Bearer abc"), ("Authorization", "Bearer def")]))
        }
    }

    @Test func challengesCarryTheErrorOnlyWhenThereIsOne() {
        #expect(BearerChallenge.header() == "Bearer")
        #expect(
            BearerChallenge.header(error: "invalid_token", description: "revoked")
                == #"Bearer error="invalid_token", error_description="revoked""#)
        // Quotes, backslashes and line breaks cannot leave the quoted string.
        #expect(
            BearerChallenge.header(error: "invalid_request", description: "a \"b\"\\\r\nX-Injected: 1")
                == #"Bearer error="invalid_request", error_description="a bX-Injected: 1""#)
    }
}
