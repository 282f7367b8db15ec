import Foundation
import Testing
import TokenTestSupport

/// Where the global options may go, and the exit statuses: 2 for usage errors, 3 for the service's errors.
@Suite(.serialized)
final class TokenctlExitStatusTests {
    let server: TokenctlTestServer

    init() throws {
        server = try TokenctlTestServer()
    }

    @Test func globalOptionsBeforeTheCommand() throws {
        let run = try server.tokenctl([
            "--server", server.address, "--key-file", server.keyFile("admin"), "--json", "--timeout", "5",
            "sessions", "nobody",
        ])
        #expect(run.status == 0, "\(run.standardError)")
        #expect((try run.jsonObject()["sessions"] as? [Any])?.isEmpty == true)
    }

    @Test func globalOptionsAfterTheCommand() throws {
        let run = try server.tokenctl([
            "sessions", "nobody", "--server", server.address, "--key-file", server.keyFile("admin"), "--json",
        ])
        #expect(run.status == 0, "\(run.standardError)")
        #expect((try run.jsonObject()["sessions"] as? [Any])?.isEmpty == true)
    }

    @Test func globalOptionsOnBothSides() throws {
        let run = try server.tokenctl(["--server", server.address, "health", "--json"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(try run.jsonObject()["serving"] as? Bool == true)

        let key = try server.tokenctl(
            ["--key-file", server.keyFile("admin"), "rotate-keys", "--server", server.address])
        #expect(key.status == 0, "\(key.standardError)")
        #expect(key.lines.first?.hasPrefix("active_key_id: ") == true)
    }

    @Test func helpExitsZero() throws {
        let run = try server.tokenctl(["--help"])
        #expect(run.status == 0)
        #expect(run.standardOutput.contains("Exit status"))
        #expect(run.standardOutput.contains("--server"))

        let command = try server.tokenctl(["watch", "--help"])
        #expect(command.status == 0)
        #expect(command.standardOutput.contains("--stale-after"))
        #expect(command.standardOutput.contains("--count"))
    }

    @Test(arguments: [
        ["health", "--bogus"],
        ["--bogus", "health"],
        ["no-such-command"],
        ["validate"],
        ["health", "--server", "nope"],
        ["--server", "127.0.0.1:99999", "health"],
        ["health", "--key-file", "/nonexistent/admin.key"],
        ["revoke", "--token-id", "a", "--session", "b"],
        ["issue", "alice", "--meta", "no-equals-sign"],
        ["watch", "--count", "0"],
    ])
    func usageErrorsExitTwo(arguments: [String]) throws {
        for json in [false, true] {
            let run = try server.tokenctl(arguments + (json ? ["--json"] : []))
            #expect(run.status == 2, "\(arguments): \(run.standardError)")
            #expect(run.standardOutput.isEmpty)
            #expect(!run.standardError.isEmpty)
        }
    }

    @Test func unreachableServiceExitsThree() throws {
        let dead = try RefusingPort()
        for json in [false, true] {
            let run = try server.tokenctl(
                ["health", "--server", "127.0.0.1:\(dead.port)", "--timeout", "5"] + (json ? ["--json"] : []))
            #expect(run.status == 3)
            #expect(run.standardOutput.isEmpty)
            #expect(run.standardError.hasPrefix("tokenctl: UNAVAILABLE: "))
            // One readable line.
            #expect(run.standardError.split(separator: "\n").count == 1)
        }
    }

    @Test func permissionDeniedExitsThree() throws {
        for json in [false, true] {
            let run = try server.tokenctl(as: "issuer", ["rotate-keys"] + (json ? ["--json"] : []))
            #expect(run.status == 3)
            #expect(run.standardOutput.isEmpty)
            #expect(run.standardError.hasPrefix("tokenctl: PERMISSION_DENIED: "))
            #expect(run.standardError.split(separator: "\n").count == 1)
        }
    }

    @Test func unknownKeyExitsThree() throws {
        let keyFile = server.directory + "/wrong.key"
        try Data("wrong".utf8).write(to: URL(fileURLWithPath: keyFile))
        let run = try server.tokenctl(["sessions", "alice", "--server", server.address, "--key-file", keyFile])
        #expect(run.status == 3)
        #expect(run.standardError.hasPrefix("tokenctl: UNAUTHENTICATED: "))
    }

    @Test func serviceErrorAnswersExitThree() throws {
        // Refreshing an unknown refresh token: the service answers UNAUTHENTICATED.
        let run = try server.tokenctl(as: "gateway", ["refresh", "no-such-refresh-token", "--json"])
        #expect(run.status == 3)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.hasPrefix("tokenctl: UNAUTHENTICATED: "))
    }
}
