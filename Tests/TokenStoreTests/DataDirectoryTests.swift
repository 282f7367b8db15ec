import Foundation
import InMemoryLogging
import Logging
import Testing
import TokenStore

/// The data directory and its files are readable by their owner only, whatever they were made
/// with: a new directory is made so, an existing one is tightened, with a log line.
@Suite("Embedded store: an owner-only data directory")
struct DataDirectoryTests {
    private func write(_ store: EmbeddedTokenStore) async throws {
        try await store.createSession(StoreFixture.session("s1"), refreshToken: StoreFixture.token(1, session: "s1"))
    }

    @Test func aNewDirectoryAndItsFilesAreOwnerOnly() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let logs = InMemoryLogHandler()
        let store = try await EmbeddedTokenStore(
            directory: fixture.dataDirectory, logger: Logger(label: "data-dir", factory: { _ in logs }))
        try await write(store)
        #expect(try fixture.mode(fixture.dataDirectory) == 0o700)
        #expect(try fixture.mode(fixture.dataDirectory + "/keys") == 0o700)
        for file in ["tokend.sqlite", "tokend.sqlite-wal", "tokend.sqlite-shm"] {
            #expect(try fixture.mode(fixture.dataDirectory + "/" + file) == 0o600, "\(file)")
        }
        #expect(!logs.entries.contains { $0.message.description == "made readable by its owner only" })
        await store.close()
    }

    @Test func anExistingLooseDirectoryIsTightenedWithALogLine() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let first = try await fixture.open()
        try await write(first)
        await first.close()
        // Closing removed the -wal and -shm files; a crash would have left them, with their modes.
        for file in ["/tokend.sqlite-wal", "/tokend.sqlite-shm"] {
            #expect(FileManager.default.createFile(atPath: fixture.dataDirectory + file, contents: nil))
        }
        let loose: [(String, Int)] = [
            ("", 0o755), ("/keys", 0o775), ("/tokend.sqlite", 0o644), ("/tokend.sqlite-wal", 0o664),
            ("/tokend.sqlite-shm", 0o666),
        ]
        for (suffix, mode) in loose {
            try FileManager.default.setAttributes(
                [.posixPermissions: mode], ofItemAtPath: fixture.dataDirectory + suffix)
        }

        let logs = InMemoryLogHandler()
        let store = try await EmbeddedTokenStore(
            directory: fixture.dataDirectory, logger: Logger(label: "data-dir", factory: { _ in logs }))
        for (suffix, mode) in loose {
            let path = fixture.dataDirectory + suffix
            #expect(try fixture.mode(path) == (suffix == "" || suffix == "/keys" ? 0o700 : 0o600), "\(path)")
            let logged = logs.entries.contains { entry in
                entry.message.description == "made readable by its owner only"
                    && entry.metadata["path"]?.description == path
                    && entry.metadata["mode_was"]?.description == "0\(String(mode, radix: 8))"
            }
            #expect(logged, "no log line for \(path)")
        }
        // The store still works on its tightened files.
        #expect(try await store.session(id: "s1")?.subject == "alice")
        await store.close()
    }
}
