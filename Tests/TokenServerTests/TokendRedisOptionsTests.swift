import Foundation
import NIOPosix
import Testing
import TokenClient
import TokenRPC
import TokenRedisStore
import TokenTestSupport
import TokenWire

/// The built `tokend` on a Redis of the test's own: the password from a file or the environment
/// (never on the command line or in the log), and `rediss://` with mutual TLS.
@Suite("tokend's Redis options", .enabled(if: RedisTestServer.isRequired))
struct TokendRedisOptionsTests {
    static let masterKey = String(repeating: "5c", count: 32)

    private func client(_ process: TokendProcess) -> TokenServiceClient {
        TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: process.port)], credential: "admin"))
    }

    /// Starts `tokend` with `arguments` and expects it to exit at once with one line on standard error.
    private func failingStart(_ arguments: [String], environment: [String: String], in directory: String) throws
        -> String
    {
        let (status, output) = try TokendProcess.runUntilExit(
            arguments: [
                "--listen", "127.0.0.1:0", "--callers", try TokendProcess.writeCallersFile(in: directory),
                "--issuer", "https://tokens.test",
            ] + arguments,
            environment: environment.merging(["TOKEND_MASTER_KEY": Self.masterKey]) { $1 })
        #expect(status != 0, "\(output)")
        #expect(output.split(separator: "\n").count == 1, "\(output)")
        return output
    }

    @Test func thePasswordComesFromAFileOrTheEnvironmentAndIsNeverShown() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis-password")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = "pw-\(UUID().uuidString)"
        let admin = try await RedisConnection.connect(
            try RedisConfiguration(url: redis.url), on: MultiThreadedEventLoopGroup.singleton.next())
        defer { admin.close() }
        #expect(try await admin.send(RedisCommand("CONFIG", "SET", "requirepass", password)) == .status("OK"))
        let passwordFile = directory + "/redis-password"
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        let callers = try TokendProcess.writeCallersFile(in: directory)

        let sources: [(arguments: [String], environment: [String: String])] = [
            (["--store-password-file", passwordFile], [:]),
            ([], ["TOKEND_REDIS_PASSWORD": password]),
        ]
        for (index, source) in sources.enumerated() {
            let log = directory + "/tokend-\(index).log"
            let tokend = try TokendProcess(
                dataDirectory: directory + "/unused", callersFile: callers,
                extraArguments: ["--store", redis.url, "--log-level", "trace"] + source.arguments,
                environment: source.environment.merging(["TOKEND_MASTER_KEY": Self.masterKey]) { $1 },
                log: .file(log))
            let client = client(tokend)
            #expect(try await client.health().store == "redis")
            let issued = try await client.issue(IssueRequest(subject: "alice", withRefreshToken: true))
            #expect(try await client.validate(ValidateRequest(token: issued.accessToken)).valid)
            let commandLine = try Data(
                contentsOf: URL(fileURLWithPath: "/proc/\(tokend.process.processIdentifier)/cmdline"))
            await client.close()
            tokend.stop(signal: SIGTERM)
            #expect(!String(decoding: commandLine, as: UTF8.self).contains(password))
            let logged = try String(contentsOfFile: log, encoding: .utf8)
            #expect(logged.contains("redis store opened"), "\(logged.prefix(2_000))")
            #expect(!logged.contains(password))
        }

        let missing = try failingStart(["--store", redis.url], environment: [:], in: directory)
        #expect(missing.contains("NOAUTH") || missing.contains("AUTH"), "\(missing)")
    }

    @Test func aPasswordGivenTwiceOrInAnUnusableFileStopsTokendWithOneLine() throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis-password")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let passwordFile = directory + "/redis-password"
        try Data("from-the-file".utf8).write(to: URL(fileURLWithPath: passwordFile))
        let emptyFile = directory + "/empty"
        try Data("\n".utf8).write(to: URL(fileURLWithPath: emptyFile))
        for file in [passwordFile, emptyFile] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
        let server = try RedisConfiguration(url: try RedisTestServer.requiredURL())
        let address = "\(server.host):\(server.port)"
        let cases: [(arguments: [String], environment: [String: String], expected: String)] = [
            (
                ["--store", "redis://:in-the-url@\(address)", "--store-password-file", passwordFile], [:],
                "given by the --store URL and --store-password-file"
            ),
            (
                ["--store", "redis://\(address)", "--store-password-file", passwordFile],
                ["TOKEND_REDIS_PASSWORD": "from-the-environment"],
                "given by --store-password-file and TOKEND_REDIS_PASSWORD"
            ),
            (["--store", "redis://\(address)", "--store-password-file", emptyFile], [:], "holds no password"),
            (["--store", "redis://\(address)", "--store-password-file", directory + "/none"], [:], "cannot read"),
            (
                ["--store", "redis://\(address)", "--store-sentinel-password-file", passwordFile], [:],
                "needs a redis-sentinel://"
            ),
            (["--store", "redis://\(address)", "--store-tls-ca", passwordFile], [:], "need a rediss://"),
        ]
        for (arguments, environment, expected) in cases {
            let output = try failingStart(arguments, environment: environment, in: directory)
            #expect(output.contains(expected), "\(output)")
            for secret in ["in-the-url", "from-the-file", "from-the-environment"] {
                #expect(!output.contains(secret), "\(output)")
            }
        }
    }

    @Test func redissWithMutualTLS() async throws {
        let server = try RedisTLSServer()
        let directory = try TemporaryDirectory.make(prefix: "tokend-rediss")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let tlsArguments = [
            "--store-tls-ca", server.authority.certificateFile, "--store-tls-cert", server.client.certificateFile,
            "--store-tls-key", server.client.privateKeyFile, "--store-tls-server-name", "localhost",
        ]
        let tokend = try TokendProcess(
            dataDirectory: directory + "/unused", callersFile: callers,
            extraArguments: ["--store", "rediss://127.0.0.1:\(server.tlsPort)"] + tlsArguments,
            environment: ["TOKEND_MASTER_KEY": Self.masterKey])
        let client = client(tokend)
        #expect(try await client.health().serving)
        let issued = try await client.issue(IssueRequest(subject: "alice"))
        // Seq 1 is the key ring's event.
        #expect(try await client.revoke(RevokeRequest(target: .tokenID(issued.tokenID))).seq == 2)
        await client.close()
        tokend.stop(signal: SIGTERM)

        // Without the name the certificate carries, the handshake is refused and tokend does not start.
        let refused = try failingStart(
            ["--store", "rediss://127.0.0.1:\(server.tlsPort)"] + tlsArguments.dropLast(2), environment: [:],
            in: directory)
        #expect(refused.contains("failedToValidateHostname"), "\(refused)")
    }
}
