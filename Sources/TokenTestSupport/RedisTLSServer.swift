import Foundation

/// A `redis-server` of a test's own with a TLS port besides its plain one: certificates from a
/// `TestCertificateAuthority`, the server's named `localhost` only, and client certificates
/// required (Redis's `tls-auth-clients` default).
public final class RedisTLSServer: Sendable {
    /// The server (its plain port is `redis.port`).
    public let redis: RedisServerProcess
    /// The TLS port.
    public let tlsPort: Int
    /// The CA that signed the server's and the client's certificates.
    public let authority: TestCertificateAuthority
    /// A client certificate the server accepts.
    public let client: TestCertificateAuthority.Issued
    /// Where the certificates are (removed with the server).
    public let directory: String

    /// Starts the server and turns its TLS port on (`CONFIG SET` through `redis-cli`).
    /// - Throws: when a certificate, the server or `redis-cli` fails.
    public init() throws {
        directory = try TemporaryDirectory.make(prefix: "redis-tls")
        authority = try TestCertificateAuthority.make(named: "redis", in: directory)
        let server = try authority.issue("server", alternativeNames: ["DNS:localhost"])
        client = try authority.issue("client", client: true)
        redis = try RedisServerProcess()
        try redis.start()
        let reserved = try RefusingPort()
        tlsPort = reserved.port
        reserved.release()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "redis-cli", "-h", "127.0.0.1", "-p", "\(redis.port)", "CONFIG", "SET",
            "tls-cert-file", server.certificateFile, "tls-key-file", server.privateKeyFile,
            "tls-ca-cert-file", authority.certificateFile, "tls-port", "\(tlsPort)",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, answer.hasPrefix("OK") else {
            throw RedisServerProcessError(message: "cannot turn TLS on: \(answer)")
        }
    }

    deinit {
        redis.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
