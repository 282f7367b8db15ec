import Testing
@testable import TokenCore

@Suite struct JSONWriterTests {
    @Test(arguments: [Int64(0), 7, -7, 10, 1_800_000_000, -1_000, .max, .min])
    func integersAreWrittenAsSwiftPrintsThem(_ value: Int64) {
        var out: [UInt8] = [UInt8(ascii: "[")]
        JSONWriter.appendInteger(value, to: &out)
        #expect(out == Array("[\(value)".utf8))
    }

    @Test func stringsAreEscapedOnlyWhereJSONNeedsIt() {
        var plain: [UInt8] = []
        JSONWriter.appendString("alice@example.com ü", to: &plain)
        #expect(plain == Array(#""alice@example.com ü""#.utf8))
        var escaped: [UInt8] = []
        JSONWriter.appendString("a\"b\\c\nd\re\tf\u{01}g", to: &escaped)
        #expect(escaped == Array(#""a\"b\\c\nd\re\tf\u0001g""#.utf8))
    }
}
