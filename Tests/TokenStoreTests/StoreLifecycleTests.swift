import Foundation
import Testing
import TokenCore
import TokenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Embedded store: opening, reopening, closing")
struct StoreLifecycleTests {
    @Test func reopeningFindsEverythingAndSeqsContinue() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(store.kind == "embedded")
        let first = StoreFixture.token(1, session: "s1")
        let second = StoreFixture.token(2, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: first)
        try await store.createSession(StoreFixture.session("s2", subject: "bob"), refreshToken: nil)
        #expect(
            try await store.spendRefreshToken(
                hash: first.hash,
                rotation: RefreshRotation(spentAt: 1_500, replay: [4, 2], successor: second, sessionExpiresAt: 11_000)))
        let revoked = try await store.revoke(
            RevocationRequest(kind: .session, value: "s2", revokedAt: 1_600, expiresAt: 9_000, reason: "test"))
        let ring = [StoreFixture.key("k1", byte: 1)]
        _ = try await store.saveSigningKeys(ring, logging: StoreFixture.keyRingChange)
        let session = try await store.session(id: "s1")
        #expect(FileManager.default.fileExists(atPath: fixture.dataDirectory + "/tokend.sqlite-wal"))
        await store.close()

        let reopened = try await fixture.open()
        #expect(try await reopened.session(id: "s1") == session)
        #expect(session?.expiresAt == 11_000)
        #expect(try await reopened.session(id: "s2")?.revokedAt == 1_600)
        let spent = try await reopened.refreshToken(hash: first.hash, sessionID: "s1")
        #expect(spent?.spentAt == 1_500)
        #expect(spent?.replay == [4, 2])
        #expect(try await reopened.refreshToken(hash: second.hash, sessionID: "s1") == second)
        #expect(try await reopened.loadSigningKeys().keys == ring)
        // The ring's event (seq 2) is no revocation.
        #expect(try await reopened.activeRevocations(now: 0) == RevocationSnapshot(events: [revoked.event], headSeq: 2))
        let again = RefreshRotation(
            spentAt: 1_700, replay: [], successor: StoreFixture.token(3, session: "s1"), sessionExpiresAt: 0)
        #expect(try await reopened.spendRefreshToken(hash: first.hash, rotation: again) == false)
        let next = try await reopened.revoke(
            RevocationRequest(kind: .token, value: "j", revokedAt: 1_800, expiresAt: 9_000, reason: ""))
        #expect(next.event.seq == 3)
        await reopened.close()
    }

    @Test func aClosedStoreIsUnavailable() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        try await store.createSession(StoreFixture.session("s1"), refreshToken: nil)
        await store.close()
        await store.close()

        let read = await #expect(throws: TokenStoreError.self) { try await store.session(id: "s1") }
        #expect(read?.isUnavailable == true)
        let write = await #expect(throws: TokenStoreError.self) {
            try await store.revoke(RevocationRequest(kind: .token, value: "j", revokedAt: 1, expiresAt: 2, reason: ""))
        }
        #expect(write?.isUnavailable == true)
    }

    @Test func aDirectoryThatCannotBeCreatedIsUnavailable() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let blocker = fixture.root + "/file"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data([1])))

        let error = await #expect(throws: TokenStoreError.self) {
            try await EmbeddedTokenStore(directory: blocker + "/data", logger: StoreFixture.logger)
        }
        #expect(error?.isUnavailable == true)
    }

    @Test func aDatabasePathThatIsNotAFileIsUnavailable() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: fixture.dataDirectory + "/tokend.sqlite", withIntermediateDirectories: true)

        let error = await #expect(throws: TokenStoreError.self) { try await fixture.open() }
        #expect(error?.isUnavailable == true)
    }

    @Test func aDatabaseFileThatIsNotSQLiteIsReported() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(atPath: fixture.dataDirectory, withIntermediateDirectories: true)
        #expect(
            FileManager.default.createFile(
                atPath: fixture.dataDirectory + "/tokend.sqlite", contents: Data(repeating: 0x5a, count: 4_096)))

        let error = await #expect(throws: TokenStoreError.self) { try await fixture.open() }
        #expect(error?.isCorrupt == true)
    }

    #if os(Linux)
    @Test func theStoreThreadsCarryTheirNames() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let names = Set(try StoreFixture.threads().map(\.name))
        #expect(names.isSuperset(of: ["store writer", "store reader 1", "store reader 2"]))
        await store.close()
    }
    #endif
}
