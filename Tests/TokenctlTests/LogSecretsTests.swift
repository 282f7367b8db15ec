import Foundation
import Testing
import TokenTestSupport

/// The log of an end-to-end run over mutual TLS (issue, refresh, validate remotely and locally,
/// revoke, sessions, key rotation, a wrong key, a TLS reload), at the most verbose level and in
/// JSON: one object per line, and not one of the run's secrets in it, nor in any answer of the HTTP
/// port (`tools/edges/no_secrets.py`).
@Suite struct LogSecretsTests {
    @Test func theLogOfAnEndToEndRunHoldsNoSecret() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-log")
        let certificates = try TestCertificates(in: directory)
        let server = try TokenctlTestServer(
            directory: directory,
            arguments: [
                "--http-listen", "127.0.0.1:0", "--log-level", "trace", "--log-format", "json",
            ] + certificates.mutualTLSServerArguments
        )
        let tls = certificates.mutualTLSClientArguments
        var secrets: [String] = Array(server.keys.values)
        func run(as caller: String, _ arguments: [String], expecting status: Int32 = 0) throws -> CommandLineRun {
            // The connection options before the command's name, so that `--` may end its options.
            let result = try server.tokenctl(
                ["--server", server.address, "--key-file", server.keyFile(caller)] + tls + arguments
            )
            #expect(result.status == status, "\(arguments): \(result.standardError)")
            return result
        }
        func tokens(_ result: CommandLineRun) throws -> (access: String, refresh: String) {
            let object = try result.jsonObject()
            return (object["access_token"] as? String ?? "", object["refresh_token"] as? String ?? "")
        }

        let first = try tokens(run(as: "issuer", ["issue", "log-subject", "--audience", "api", "--refresh", "--json"]))
        let second = try tokens(run(as: "gateway", ["refresh", "--json", "--", first.refresh]))
        let third = try tokens(run(as: "issuer", ["issue", "log-subject", "--refresh", "--json"]))
        secrets += [first.access, first.refresh, second.access, second.refresh, third.access, third.refresh]
        _ = try run(as: "gateway", ["validate", second.access, "--audience", "api"])
        // TokenValidator over mutual TLS: the keys and the revocation mirror come through it.
        let local = try run(as: "gateway", ["validate", "--local", "--issuer", "https://tokens.test", second.access])
        #expect(local.lines.contains("verified_by: local"), "\(local.standardOutput)")
        _ = try run(as: "gateway", ["revoke", "--token", second.access, "--reason", "logout\n{\"forged\": 1}"])
        _ = try run(as: "gateway", ["revoke", "--token", third.refresh])
        // Refreshing a revoked session's token is refused; so is validating a revoked token.
        _ = try run(as: "gateway", ["refresh", "--", third.refresh], expecting: 3)
        _ = try run(as: "gateway", ["validate", second.access], expecting: 1)
        _ = try run(as: "admin", ["sessions", "log-subject"])
        _ = try run(as: "admin", ["rotate-keys"])
        _ = try run(as: "admin", ["keys"])
        // A key the service does not know, and a caller without the role.
        let wrongKey = "tk_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try Data(wrongKey.utf8).write(to: URL(fileURLWithPath: directory + "/wrong.key"))
        secrets.append(wrongKey)
        _ = try run(as: "wrong", ["validate", first.access], expecting: 3)
        _ = try run(as: "issuer", ["revoke", "--subject", "log-subject"], expecting: 3)
        let offset = server.logSize
        server.send(SIGHUP)
        try server.waitForLog("tls certificates reloaded", after: offset)


        // The signatures of the tokens alone are secrets too.
        secrets += secrets.filter { $0.hasPrefix("ey") }.compactMap { $0.split(separator: ".").last.map(String.init) }
        // The PEM bodies of every TLS key.
        for file in [certificates.serverOne.privateKeyFile, certificates.clientOne.privateKeyFile] {
            let pem = try String(contentsOfFile: file, encoding: .utf8)
            secrets += pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        }
        // The signing keys: their PKCS#8 DER in base64 and their 32-byte seeds in hex and base64url.
        let keyDirectory = directory + "/data/keys"
        let keyFiles = try FileManager.default.contentsOfDirectory(atPath: keyDirectory)
        #expect(keyFiles.count >= 3)
        for file in keyFiles {
            let der = try Data(contentsOf: URL(fileURLWithPath: keyDirectory + "/" + file))
            let seed = der.suffix(32)
            secrets.append(der.base64EncodedString())
            secrets.append(seed.map { String(format: "%02x", $0) }.joined())
            secrets.append(
                seed.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            )
        }
        #expect(!secrets.contains(""))

        // No route of the HTTP port answers any of them.
        let secretsFile = directory + "/secrets.txt"
        try Data(secrets.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: secretsFile))
        let httpPort = try #require(server.httpPort)
        let routes = try PythonScript.run(
            "tools/edges/no_secrets.py",
            arguments: ["--http", "127.0.0.1:\(httpPort)", "--secrets", secretsFile]
        )
        #expect(routes.status == 0, "no_secrets.py: \(routes.output)")
        #expect(routes.output.contains(#""/.well-known/jwks.json": 200"#), "\(routes.output)")
        try FileManager.default.removeItem(atPath: secretsFile)

        let (status, log) = server.stop()
        #expect(status == 0)

        let lines = log.split(separator: "\n")
        // A busy log: every call of the run is in it.
        #expect(lines.filter { $0.contains("\"call finished\"") }.count >= 12)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] is String && object?["level"] is String && object?["message"] is String, "\(line)")
        }
        for secret in secrets {
            #expect(!log.contains(secret), "the log holds a secret: \(secret.prefix(8))…")
        }
        // The audit line of a revocation names its target and its reason, escaped: one line, no forgery.
        let revocations = try lines.compactMap { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.filter { $0["message"] as? String == "revoked" }
        #expect(revocations.count == 2, "\(revocations)")
        #expect(
            revocations.contains { $0["reason"] as? String == #"logout\n{"forged": 1}"# && $0["kind"] as? String == "token" },
            "\(revocations)")
        #expect(!lines.contains { $0.hasPrefix("{\"forged\"") })
    }
}
