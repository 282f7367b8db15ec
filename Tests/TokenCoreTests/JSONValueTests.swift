import Testing
import TokenCore

@Suite struct JSONValueTests {
    @Test func parsesEveryKind() throws {
        let value = try JSONValue(parsing: #" {"a":[1,-2.5e3,true,false,null],"b":{"c":"d\n\u00e9\ud83d\ude00"}} "#)
        guard case .object(let object) = value else {
            Issue.record("not an object")
            return
        }
        #expect(object.names == ["a", "b"])
        #expect(object["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(object["b"] == .object(try JSONObject(members: [.init(name: "c", value: .string("d\né😀"))])))
        #expect(value.jsonText == #"{"a":[1,-2.5e3,true,false,null],"b":{"c":"d\né😀"}}"#)
    }

    @Test func stringArraysAndMapsAreWrittenAsTheirValuesWouldBe() throws {
        let strings = ["a", "q\"uote", "back\\slash", "line\nbreak", "\u{01}", "é😀", ""]
        #expect(JSONValue.arrayText(of: strings) == JSONValue.array(strings.map(JSONValue.string)).jsonText)
        #expect(JSONValue.arrayText(of: []) == "[]")
        let map = ["b": "2", "a": "q\"1", "c\n": "é"]
        let sorted = try JSONObject(
            members: map.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: .string($0.value)) })
        #expect(JSONValue.objectText(of: map) == JSONValue.object(sorted).jsonText)
        #expect(JSONValue.objectText(of: map) == #"{"a":"q\"1","b":"2","c\n":"é"}"#)
        #expect(JSONValue.objectText(of: [:]) == "{}")
        // What is written reads back as the same strings.
        #expect(try JSONValue(parsing: JSONValue.arrayText(of: strings)) == .array(strings.map(JSONValue.string)))
    }

    @Test func int64ValueAcceptsOnlyIntegersInRange() throws {
        #expect(JSONValue.number("9223372036854775807").int64Value == Int64.max)
        #expect(JSONValue.number("9223372036854775808").int64Value == nil)
        #expect(JSONValue.number("1.0").int64Value == nil)
        #expect(JSONValue.number("1e3").int64Value == nil)
        #expect(JSONValue.string("5").int64Value == nil)
    }

    @Test(arguments: [
        "", "{", "}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":+1}", "{\"a\":1}x", "{\"a\":1}{}", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"",
        "{\"a\":1,\"a\":2}", "tru", "nul", "NaN", "-", "[1 2]", "{\"a\":\"unterminated}",
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: TokenError.self) { try JSONValue(parsing: text) }
    }

    @Test func rejectsDeepNesting() throws {
        let shallow = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try JSONValue(parsing: shallow) }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: TokenError.self) { try JSONValue(parsing: deep) }
    }

    @Test func rejectsOversizedText() {
        let text = "\"" + String(repeating: "a", count: JSONValue.maxInputBytes) + "\""
        #expect(throws: TokenError.self) { try JSONValue(parsing: text) }
    }

    @Test func parseObjectRejectsOtherValues() {
        #expect(throws: TokenError.self) { try JSONValue.parseObject("[]") }
        #expect(throws: TokenError.self) { try JSONValue.parseObject("\"{}\"") }
        #expect(throws: Never.self) { try JSONValue.parseObject("{}") }
    }

    @Test func extraClaimsRejectRegisteredNames() throws {
        #expect(try Claims.validateExtraClaims(#"{"tenant":"t1","roles":["a"]}"#).names == ["tenant", "roles"])
        #expect(try Claims.validateExtraClaims("").isEmpty)
        for name in Claims.registeredNames {
            #expect(throws: TokenError.invalidClaims("extra claim \"\(name)\" is set by the service")) {
                try Claims.validateExtraClaims("{\"x\":1,\"\(name)\":1}")
            }
        }
        #expect(throws: TokenError.self) { try Claims.validateExtraClaims("[1]") }
    }
}
