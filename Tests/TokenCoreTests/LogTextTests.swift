import Testing
import TokenCore

@Suite struct LogTextTests {
    @Test func readableTextIsKeptAsItIs() {
        #expect(LogText.escaped("/token.v1.TokenService/Issue") == "/token.v1.TokenService/Issue")
        #expect(LogText.escaped("user logged out: José, 東京") == "user logged out: José, 東京")
        #expect(LogText.escaped("") == "")
    }

    @Test func lineBreaksAndControlCharactersCannotForgeALine() {
        let forged = "x\n2026-12-05T14:13:33+0000 info tokend: [TokenServer] admin logged in\r\u{0}\u{1B}[31m"
        let escaped = LogText.escaped(forged, maxBytes: 1_000)
        #expect(escaped == #"x\n2026-12-05T14:13:33+0000 info tokend: [TokenServer] admin logged in\r\u{0}\u{1B}[31m"#)
        // Unicode's own line breaks and a right-to-left override that would reorder the line.
        #expect(LogText.escaped("a\u{2028}b\u{2029}c\u{85}d\u{202E}e") == #"a\u{2028}b\u{2029}c\u{85}d\u{202E}e"#)
        // A backslash is doubled, so escaped text cannot be mistaken for an escape.
        #expect(LogText.escaped(#"a\nb"#) == #"a\\nb"#)
    }

    @Test func longTextIsCutAndMarkedWithItsLength() {
        let long = String(repeating: "m", count: 65_536)
        let escaped = LogText.escaped(long)
        #expect(escaped == String(repeating: "m", count: LogText.defaultMaxBytes) + "...(65536 bytes)")
        // The bound counts escaped bytes: newlines take two each.
        let lines = LogText.escaped(String(repeating: "\n", count: 100), maxBytes: 9)
        #expect(lines == #"\n\n\n\n...(100 bytes)"#)
        // A cut never splits a character.
        #expect(LogText.escaped("ééé", maxBytes: 5) == "éé...(6 bytes)")
    }
}
