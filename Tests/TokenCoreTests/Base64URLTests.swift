import Testing
import TokenCore

@Suite struct Base64URLTests {
    @Test(arguments: [
        ([UInt8](), ""),
        ([0x66], "Zg"),
        ([0x66, 0x6F], "Zm8"),
        ([0x66, 0x6F, 0x6F], "Zm9v"),
        ([0xFB, 0xFF, 0xBF], "-_-_"),
        ([0x00, 0x10, 0x83, 0x10, 0x51], "ABCDEFE"),
    ])
    func roundTrips(bytes: [UInt8], text: String) throws {
        #expect(Base64URL.encode(bytes) == text)
        #expect(try Base64URL.decode(text) == bytes)
    }

    @Test func roundTripsEveryLength() throws {
        for length in 0..<70 {
            let bytes = try SecureRandom.bytes(length)
            #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test(arguments: ["Zg==", "Zg=", "Z", "Zm9v Zg", "Zm9v\n", "Zm+v", "Zm/v", "Zh", "Zm9", "Zm:v", "é"])
    func rejectsNonCanonicalText(text: String) {
        // Padding, whitespace, the standard alphabet, a lone character, non-zero trailing bits
        // ("Zh", "Zm9") and foreign characters are all refused.
        #expect(throws: TokenError.self) { try Base64URL.decode(text) }
    }
}
