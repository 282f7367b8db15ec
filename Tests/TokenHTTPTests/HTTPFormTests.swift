import NIOCore
import Testing
import TokenHTTP

/// `application/x-www-form-urlencoded` bodies and queries, as the OAuth endpoints and `/auth` read them.
@Suite struct HTTPFormTests {
    @Test func fieldsAreDecodedInOrder() throws {
        let form = try HTTPForm(parsing: "token=a.b%2Bc&token_type_hint=access_token&&x&note=two+words%21".utf8)
        #expect(form.fields.map(\.name) == ["token", "token_type_hint", "x", "note"])
        #expect(try form.value(of: "token") == "a.b+c")
        #expect(try form.value(of: "x") == "")
        #expect(try form.value(of: "note") == "two words!")
        #expect(try form.value(of: "absent") == nil)
        #expect(try HTTPForm(body: ByteBuffer(string: "caf%C3%A9=%E2%82%AC")).value(of: "café") == "€")
    }

    @Test func aRepeatedFieldIsRefusedWhenAskedFor() throws {
        let form = try HTTPForm(parsing: "audience=api&audience=admin&other=1".utf8)
        #expect(throws: HTTPFormError.self) { try form.value(of: "audience") }
        #expect(try form.value(of: "other") == "1")
    }

    @Test(arguments: ["token=%", "token=%4", "token=%zz", "%G1=x", "token=%FF", "token=%C3"])
    func badEscapesAndBytesThatAreNotUTF8AreRefused(_ text: String) {
        #expect(throws: HTTPFormError.self) { try HTTPForm(parsing: text.utf8) }
    }

    @Test func theNumberOfFieldsIsBounded() throws {
        let limit = (0..<HTTPForm.maxFields).map { "f\($0)=1" }.joined(separator: "&")
        #expect(try HTTPForm(parsing: limit.utf8).fields.count == HTTPForm.maxFields)
        #expect(throws: HTTPFormError.self) { try HTTPForm(parsing: (limit + "&one=more").utf8) }
    }
}
