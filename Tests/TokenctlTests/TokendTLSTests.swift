import Foundation
import Testing
import TokenTestSupport

/// `tokend --tls-cert --tls-key --tls-client-ca` with `tokenctl --tls-*`, and SIGHUP reloads.
@Suite struct TokendTLSTests {
    @Test func tokenctlSpeaksMutualTLSAndSIGHUPReloadsTheCertificate() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-tls")
        let certificates = try TestCertificates(in: directory)
        let (one, two, serverOne, serverTwo, client) = (
            certificates.one, certificates.two, certificates.serverOne, certificates.serverTwo, certificates.clientOne
        )
        let chain = directory + "/served.pem"
        let key = directory + "/served.key"
        try FileManager.default.copyItem(atPath: serverOne.certificateFile, toPath: chain)
        try FileManager.default.copyItem(atPath: serverOne.privateKeyFile, toPath: key)

        let server = try TokenctlTestServer(
            directory: directory,
            arguments: [
                "--tls-cert", chain, "--tls-key", key, "--tls-client-ca", one.certificateFile, "--log-level", "info",
            ]
        )
        let clientFlags = ["--tls-cert", client.certificateFile, "--tls-key", client.privateKeyFile]
        let connection = ["--server", server.address, "--key-file", server.keyFile("admin")]

        // The --tls options before the command's name and after it.
        let before = try server.tokenctl(["--tls-ca", one.certificateFile] + clientFlags + connection + ["health"])
        #expect(before.status == 0, "\(before.standardError)")
        #expect(before.lines.contains("serving: true"))
        let after = try server.tokenctl(["health", "--tls-ca", one.certificateFile] + clientFlags + connection)
        #expect(after.status == 0, "\(after.standardError)")

        // Refused: no client certificate, plaintext, a server certificate the client does not trust.
        let anonymous = try server.tokenctl(["health", "--tls-ca", one.certificateFile] + connection)
        #expect(anonymous.status == 3)
        let plaintext = try server.tokenctl(["health"] + connection)
        #expect(plaintext.status == 3)
        let distrusting = try server.tokenctl(["health", "--tls-ca", two.certificateFile] + clientFlags + connection)
        #expect(distrusting.status == 3)
        // A usage error, before any connection.
        let halfClient = try server.tokenctl(["health", "--tls-cert", client.certificateFile] + connection)
        #expect(halfClient.status == 2)
        let missingCA = try server.tokenctl(["health", "--tls-ca", directory + "/missing.pem"] + connection)
        #expect(missingCA.status == 2)
        #expect(missingCA.standardError.contains("missing.pem"))

        // SIGHUP: the files now hold CA two's certificate, and new connections get it.
        for (source, target) in [(serverTwo.certificateFile, chain), (serverTwo.privateKeyFile, key)] {
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        let offset = server.logSize
        server.send(SIGHUP)
        try server.waitForLog("tls certificates reloaded", after: offset)
        let reloaded = try server.tokenctl(["health", "--tls-ca", two.certificateFile] + clientFlags + connection)
        #expect(reloaded.status == 0, "\(reloaded.standardError)")
        let stale = try server.tokenctl(["health", "--tls-ca", one.certificateFile] + clientFlags + connection)
        #expect(stale.status == 3)

        let (status, log) = server.stop()
        #expect(status == 0)
        // TLS configured: no warning about clear text.
        #expect(!log.contains("not encrypted"))
    }

    @Test func unusableTLSFilesStopTokendBeforeItListens() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-tls-bad")
        let notPEM = directory + "/not.pem"
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: notPEM))
        #expect(throws: TokendProcessError.self) {
            _ = try TokenctlTestServer(directory: directory, arguments: ["--tls-cert", notPEM, "--tls-key", notPEM])
        }
        // Nothing was opened: the store's directory does not exist.
        #expect(!FileManager.default.fileExists(atPath: directory + "/data"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func withoutTLSTheServerWarnsOnceThatItsTrafficIsNotEncrypted() throws {
        let server = try TokenctlTestServer(arguments: ["--log-level", "info"])
        let run = try server.tokenctl(["health", "--server", server.address, "--key-file", server.keyFile("admin")])
        #expect(run.status == 0, "\(run.standardError)")
        let (status, log) = server.stop()
        #expect(status == 0)
        #expect(log.components(separatedBy: "not encrypted").count == 2, "\(log)")
    }
}
