import Foundation
import NIOCore
import NIOPosix
import Testing
import TokenRPC
import TokenTestSupport

@testable import TokenRedisStore

/// `rediss://` against a `redis-server` of the test's own speaking TLS (mutual TLS required), and
/// sentinels that require a password.
@Suite("Redis over TLS, and sentinel passwords", .enabled(if: RedisTestServer.isRequired))
struct RedisTLSTests {
    /// The configuration of `rediss://HOST:TLSPORT` with the server's CA and a client certificate.
    private func configuration(
        _ server: RedisTLSServer,
        host: String = "127.0.0.1",
        serverName: String? = "localhost"
    ) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: "rediss://\(host):\(server.tlsPort)")
        configuration.tls?.serverName = serverName
        configuration.tls?.trustRootsFile = server.authority.certificateFile
        configuration.tls?.certificateChainFile = server.client.certificateFile
        configuration.tls?.privateKeyFile = server.client.privateKeyFile
        return configuration
    }

    private var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.next() }

    @Test func redissSpeaksTLSWithAClientCertificateAndChecksTheServerName() async throws {
        let server = try RedisTLSServer()
        for host in ["127.0.0.1", "localhost"] {
            let connection = try await RedisConnection.connect(
                try configuration(server, host: host, serverName: host == "localhost" ? nil : "localhost"),
                on: eventLoop)
            #expect(try await connection.send(RedisCommand("SET", "over-tls", host)) == .status("OK"))
            #expect(try await connection.send(RedisCommand("GET", "over-tls")).string == host)
            // The server sees a TLS connection.
            let info = try #require(try await connection.send(RedisCommand("CLIENT", "INFO")).string)
            #expect(info.contains("laddr=127.0.0.1:\(server.tlsPort)"), "\(info)")
            connection.close()
        }

        // The certificate names neither of these: refused in the handshake.
        for serverName in ["redis.elsewhere.test", nil] {
            let misnamed = await #expect(throws: RedisError.self) {
                _ = try await RedisConnection.connect(try configuration(server, serverName: serverName), on: eventLoop)
            }
            #expect(misnamed?.isConnectionFailure == true, "\(String(describing: misnamed))")
        }

        var otherCA = try configuration(server)
        otherCA.tls?.trustRootsFile = try TestCertificateAuthority.make(named: "other", in: server.directory)
            .certificateFile
        let untrusted = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(otherCA, on: eventLoop)
        }
        #expect(untrusted?.isConnectionFailure == true, "\(String(describing: untrusted))")

        var anonymous = try configuration(server)
        anonymous.tls?.certificateChainFile = nil
        anonymous.tls?.privateKeyFile = nil
        let refused = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(anonymous, on: eventLoop)
        }
        #expect(refused?.isConnectionFailure == true, "\(String(describing: refused))")

        // Plain TCP to the TLS port is not RESP to the server: it closes the connection.
        let plain = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(
                RedisConfiguration(host: "127.0.0.1", port: server.tlsPort), on: eventLoop)
        }
        #expect(plain?.isConnectionFailure == true)
    }

    @Test func unusableTLSFilesAreAConfigurationError() async throws {
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:1")
        configuration.tls?.trustRootsFile = "/nonexistent/ca.pem"
        let error = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(configuration, on: eventLoop)
        }
        #expect(error?.description.contains("/nonexistent/ca.pem") == true, "\(String(describing: error))")
    }

    @Test func sentinelsThatRequireAPasswordAreAskedWithIt() async throws {
        let master = try RedisServerProcess()
        try master.start()
        let sentinel = try RedisServerProcess(sentinelOf: master.port, masterName: "tokens")
        try sentinel.start()
        let admin = try await RedisConnection.connect(
            RedisConfiguration(host: "127.0.0.1", port: sentinel.port), on: eventLoop)
        defer { admin.close() }
        #expect(try await admin.send(RedisCommand("ACL", "SETUSER", "default", "on", ">sentinel-pw")) == .status("OK"))

        var configuration = try RedisConfiguration(url: "redis-sentinel://127.0.0.1:\(sentinel.port)/tokens")
        let refused = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(configuration, on: eventLoop)
        }
        #expect(refused?.isAuthenticationFailure == true, "\(String(describing: refused))")
        #expect(refused?.description.contains("sentinel-pw") == false)

        configuration.sentinelPassword = "sentinel-pw"
        let connection = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { connection.close() }
        #expect(try await connection.send(RedisCommand("ROLE")).array?.first?.string == "master")
        #expect(
            try await connection.send(RedisCommand("CONFIG", "GET", "port")).array?.last?.string == "\(master.port)")
    }
}
