import Testing
@testable import TokenCore

@Suite struct CryptoHelperTests {
    @Test func sha256MatchesKnownDigests() throws {
        #expect(
            SHA256.hash([])
                == (try TokenFixtures.hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")))
        #expect(
            SHA256.hash("abc".utf8)
                == (try TokenFixtures.hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")))
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(constantTimeEquals([], []))
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!constantTimeEquals([], [0]))
        #expect(constantTimeEquals("", ""))
        #expect(constantTimeEquals("key-ü", "key-ü"))
        #expect(!constantTimeEquals("key-a", "key-b"))
        #expect(!constantTimeEquals("key", "key-a"))
        #expect(!constantTimeEquals("", "k"))
    }

    @Test func secureRandomGivesFreshBytes() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
        #expect(try SecureRandom.bytes(0).isEmpty)
        #expect(throws: TokenError.self) { try SecureRandom.bytes(-1) }
    }

    @Test func secureRandomNeverHandsOutTheSameBytesTwice() async throws {
        // Small draws come from 4 KiB blocks: 4 tasks × 2,000 draws of 16 bytes refill them many
        // times over, on several threads; a block handing a byte out twice would repeat a draw.
        let draws = try await withThrowingTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<4 {
                group.addTask { try (0..<2_000).map { _ in try SecureRandom.bytes(16) } }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(draws.count == 8_000)
        #expect(Set(draws).count == draws.count)
        // Draws over the block limit go to the generator directly.
        let large = try SecureRandom.bytes(SecureRandom.largestBlockDraw + 1)
        #expect(large.count == SecureRandom.largestBlockDraw + 1)
        #expect(Set(large).count > 1)
    }

    @Test func tokenIDRoundTrips() throws {
        let id = try TokenID.random()
        #expect(id.text.utf8.count == 22)
        #expect(TokenID(id.text) == id)
        #expect(TokenID(bytes: id.bytes) == id)
        #expect(try TokenID.random() != id)
        #expect(TokenID("AAAAAAAAAAAAAAAAAAAAAA")?.bytes == [UInt8](repeating: 0, count: 16))
        #expect(TokenID("AAAAAAAAAAAAAAAAAAAAAB") == nil)  // non-zero trailing bits
        #expect(TokenID("AAAA") == nil)
        #expect(TokenID(bytes: [1, 2]) == nil)
    }

    @Test func timeOrderedIDsCarryTheirTimeAndSurviveTheCounterWrapping() throws {
        let milliseconds: Int64 = 1_800_000_000_123
        // More ids than the 16-bit counter holds: it wraps instead of trapping.
        var ids: [TokenID] = []
        for _ in 0..<70_000 {
            ids.append(try TokenID.timeOrdered(unixMilliseconds: milliseconds))
        }
        #expect(Set(ids).count == ids.count)
        let time = ids[0].bytes[0..<6].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        #expect(time == milliseconds)
        // An id of a later millisecond sorts after every id of an earlier one.
        let later = try TokenID.timeOrdered(unixMilliseconds: milliseconds + 1)
        #expect(ids.allSatisfy { $0.bytes.lexicographicallyPrecedes(later.bytes) })
        #expect(TokenID(later.text) == later)
    }

    @Test func aesGCMSealsAndOpens() throws {
        let key = try SecureRandom.bytes(32)
        let plaintext = Array("a private key".utf8)
        let sealed = try AESGCM.seal(key: key, plaintext: plaintext, associatedData: Array("kid-1".utf8))
        #expect(sealed.count == 12 + plaintext.count + 16)
        #expect(try AESGCM.open(key: key, sealed: sealed, associatedData: Array("kid-1".utf8)) == plaintext)
        let again = try AESGCM.seal(key: key, plaintext: plaintext, associatedData: Array("kid-1".utf8))
        #expect(again.prefix(12) != sealed.prefix(12), "each seal uses a fresh nonce")
        #expect(try AESGCM.open(key: key, sealed: try AESGCM.seal(key: key, plaintext: []), associatedData: []).isEmpty)
    }

    @Test func aesGCMRejectsTamperingWrongKeyAndWrongData() throws {
        let key = try SecureRandom.bytes(32)
        let sealed = try AESGCM.seal(key: key, plaintext: Array("secret".utf8), associatedData: [1])
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: TokenError.authenticationFailed) {
                try AESGCM.open(key: key, sealed: tampered, associatedData: [1])
            }
        }
        #expect(throws: TokenError.authenticationFailed) {
            try AESGCM.open(key: key, sealed: sealed, associatedData: [2])
        }
        #expect(throws: TokenError.authenticationFailed) {
            try AESGCM.open(key: try SecureRandom.bytes(32), sealed: sealed, associatedData: [1])
        }
        #expect(throws: TokenError.authenticationFailed) {
            try AESGCM.open(key: key, sealed: Array(sealed.prefix(27)), associatedData: [1])
        }
        #expect(throws: TokenError.self) { try AESGCM.seal(key: [1, 2, 3], plaintext: [1]) }
    }
}
