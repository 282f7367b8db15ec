import Foundation
import Testing

@testable import TokenStore

@Suite("Embedded store: the SQLite connection")
struct SQLiteConnectionTests {
    @Test func statementsThatDifferOnlyInTheMiddleStayApart() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let database = try Self.open(fixture)
        defer { database.close() }
        // Same length, same first and last 32 bytes: the cache hashes them alike, and must still
        // run each as itself, however often they alternate.
        let edge = String(repeating: " ", count: 40)
        let first = "SELECT\(edge)'left'\(edge)"
        let second = "SELECT\(edge)'rite'\(edge)"
        #expect(first.utf8.count == second.utf8.count)
        for _ in 0..<3 {
            #expect(try database.query(first) { $0.text(0) } == ["left"])
            #expect(try database.query(second) { $0.text(0) } == ["rite"])
        }
    }

    @Test(arguments: ["", "a", "exactly fifteen", "a\u{0}b", "é😀 and a longer text than fits in a small string"])
    func textIsStoredAsItsExactBytes(text: String) throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let database = try Self.open(fixture)
        defer { database.close() }
        try database.execute("CREATE TABLE texts (value TEXT NOT NULL)")
        try database.execute("INSERT INTO texts (value) VALUES (?)", [.text(text)])
        #expect(try database.query("SELECT value, typeof(value), length(CAST(value AS BLOB)) FROM texts") {
            [$0.text(0), $0.text(1), String($0.int64(2))]
        } == [[text, "text", String(text.utf8.count)]])
    }

    private static func open(_ fixture: StoreFixture) throws -> SQLiteConnection {
        try FileManager.default.createDirectory(atPath: fixture.dataDirectory, withIntermediateDirectories: true)
        return try SQLiteConnection(path: fixture.dataDirectory + "/tokend.sqlite", busyTimeoutMilliseconds: 1_000)
    }
}
