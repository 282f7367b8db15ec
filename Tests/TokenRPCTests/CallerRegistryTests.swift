import Foundation
import Testing
import TokenRPC

@Suite struct CallerRegistryTests {
    @discardableResult
    private func withFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callers-\(UUID().uuidString).json")
            .path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test func authenticatesByKeyDigest() throws {
        let registry = try RPCTestServer.callers()
        #expect(registry.authenticate(credential: "issuer-key") == Caller(name: "issuer", roles: [.issue]))
        #expect(registry.authenticate(credential: "admin-key")?.name == "root")
        #expect(registry.authenticate(credential: "issuer-kez") == nil)
        #expect(registry.authenticate(credential: "") == nil)
    }

    @Test func adminImpliesEveryRole() {
        let admin = Caller(name: "a", roles: [.admin])
        let validator = Caller(name: "v", roles: [.validate])
        #expect(Role.all.allSatisfy { admin.has($0) })
        #expect(validator.has(.validate))
        #expect(!validator.has(.issue))
        #expect(!validator.has(.admin))
    }

    @Test func loadsACallersFile() throws {
        let registry = try withFile(RPCTestServer.callersJSON) { try CallerRegistry(contentsOfFile: $0) }
        #expect(registry.authenticate(credential: "validator-key") == Caller(name: "validator", roles: [.validate]))
    }

    @Test func rejectsBadFiles() throws {
        let cases = [
            "not json",
            #"{"callers": [{"name": "x", "key_sha256": "abc", "roles": []}]}"#,
            #"{"callers": [{"name": "x", "key_sha256": "\#(String(repeating: "g", count: 64))", "roles": []}]}"#,
            #"{"callers": [{"name": "x", "key_sha256": "\#(String(repeating: "a", count: 64))", "roles": ["root"]}]}"#,
            #"{"callers": [{"name": "", "key_sha256": "\#(String(repeating: "a", count: 64))", "roles": []}]}"#,
            #"{"callers": [{"name": "x", "key_sha256": "\#(String(repeating: "a", count: 64))", "roles": []},"#
                + #"{"name": "y", "key_sha256": "\#(String(repeating: "A", count: 64))", "roles": []}]}"#,
        ]
        for contents in cases {
            try withFile(contents) { path in
                #expect(throws: RPCConfigurationError.self) { try CallerRegistry(contentsOfFile: path) }
            }
        }
    }

    @Test func rejectsMissingAndOversizedFiles() throws {
        #expect(throws: RPCConfigurationError.self) {
            try CallerRegistry(contentsOfFile: "/nonexistent/callers.json")
        }
        let huge = String(repeating: " ", count: CallerRegistry.maxFileBytes + 1)
        try withFile(huge) { path in
            #expect(throws: RPCConfigurationError.fileTooLarge(path, limit: CallerRegistry.maxFileBytes)) {
                try CallerRegistry(contentsOfFile: path)
            }
        }
    }

    @Test func parsesEndpoints() throws {
        #expect(try RPCEndpoint(parsing: "127.0.0.1:7070") == RPCEndpoint(host: "127.0.0.1", port: 7070))
        #expect(try RPCEndpoint(parsing: "[::1]:0") == RPCEndpoint(host: "::1", port: 0))
        for bad in ["", "host", "host:", ":80", "host:65536", "host:-1", "::1:80", "host:８０"] {
            #expect(throws: RPCConfigurationError.invalidEndpoint(bad)) { try RPCEndpoint(parsing: bad) }
        }
    }

    @Test func codesHaveTheirContractNumbersAndNames() {
        #expect(RPCError.Code.unauthenticated.rawValue == 16)
        #expect(RPCError.Code.resourceExhausted.rawValue == 8)
        #expect(RPCError.Code.internalError.description == "INTERNAL")
        #expect(RPCError.Code(rawValue: 99).description == "CODE_99")
    }
}
