import Foundation
import Testing
import TokenCore
import TokenStore

@Suite("Embedded store: signing keys")
struct KeyStoreTests {
    @Test func keysAreStoredInOwnerOnlyFilesAndReplacingTheRingLeavesNoStaleFiles() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(try await store.loadSigningKeys().keys == [])

        let ring = [StoreFixture.key("k-2", byte: 2), StoreFixture.key("k_1", byte: 1)]
        _ = try await store.saveSigningKeys(ring, logging: StoreFixture.keyRingChange)
        #expect(try await store.loadSigningKeys().keys == ring)
        let keys = fixture.dataDirectory + "/keys"
        #expect(try fixture.mode(fixture.dataDirectory) == 0o700)
        #expect(try fixture.mode(keys) == 0o700)
        #expect(try fixture.mode(keys + "/k-2.der") == 0o600)
        #expect(try fixture.mode(keys + "/k_1.der") == 0o600)
        #expect(FileManager.default.contents(atPath: keys + "/k_1.der") == Data(ring[1].privateKeyPKCS8))

        var next = StoreFixture.key("k3", byte: 3)
        next.state = "next"
        var retiring = ring[1]
        retiring.state = "retiring"
        retiring.notAfter = 5_000
        let replaced = [retiring, next]
        _ = try await store.saveSigningKeys(replaced, logging: StoreFixture.keyRingChange)
        #expect(try await store.loadSigningKeys().keys == replaced)
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys).sorted() == ["k3.der", "k_1.der"])
        #expect(try fixture.mode(keys + "/k3.der") == 0o600)
        await store.close()

        let reopened = try await fixture.open()
        #expect(try await reopened.loadSigningKeys().keys == replaced)
        _ = try await reopened.saveSigningKeys([], logging: StoreFixture.keyRingChange)
        #expect(try await reopened.loadSigningKeys().keys == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys) == [])
        await reopened.close()
    }

    @Test(arguments: ["", "../escape", "a/b", "k.der", "kid with space", String(repeating: "k", count: 65), "ключ"])
    func invalidKeyIDsAreRejectedBeforeTouchingTheDisk(keyID: String) async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let ring = [StoreFixture.key("good", byte: 1)]
        _ = try await store.saveSigningKeys(ring, logging: StoreFixture.keyRingChange)

        let error = await #expect(throws: TokenStoreError.self) {
            try await store.saveSigningKeys(
                [StoreFixture.key("other", byte: 2), StoreFixture.key(keyID, byte: 3)],
                logging: StoreFixture.keyRingChange)
        }
        #expect(error?.isRejected == true)
        #expect(try await store.loadSigningKeys().keys == ring)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dataDirectory + "/keys") == ["good.der"])
        await store.close()
    }

    @Test func duplicateKeyIDsAndEmptyKeysAreRejected() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let duplicate = await #expect(throws: TokenStoreError.self) {
            try await store.saveSigningKeys(
                [StoreFixture.key("k", byte: 1), StoreFixture.key("k", byte: 2)], logging: StoreFixture.keyRingChange)
        }
        #expect(duplicate?.isRejected == true)
        var empty = StoreFixture.key("k", byte: 1)
        empty.privateKeyPKCS8 = []
        let emptyKey = await #expect(throws: TokenStoreError.self) {
            try await store.saveSigningKeys([empty], logging: StoreFixture.keyRingChange)
        }
        #expect(emptyKey?.isRejected == true)
        #expect(try await store.loadSigningKeys().keys == [])
        await store.close()
    }

    @Test func loadingRefusesAKeyFileOthersCanReadAndAMissingOne() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await store.saveSigningKeys(
            [StoreFixture.key("k1", byte: 1), StoreFixture.key("k2", byte: 2)], logging: StoreFixture.keyRingChange)
        let file = fixture.dataDirectory + "/keys/k1.der"

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let exposed = await #expect(throws: TokenStoreError.self) { try await store.loadSigningKeys() }
        #expect(exposed?.isCorrupt == true)
        #expect(exposed?.description.contains("0644") == true)

        try FileManager.default.removeItem(atPath: file)
        let missing = await #expect(throws: TokenStoreError.self) { try await store.loadSigningKeys() }
        #expect(missing?.isCorrupt == true)
        #expect(missing?.description.contains("k1") == true)
        await store.close()
    }
}
