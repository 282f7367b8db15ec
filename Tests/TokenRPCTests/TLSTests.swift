import Foundation
import NIOCore
import NIOPosix
import Testing
import TokenRPC
import TokenTestSupport
import TokenWire

/// TLS and mutual TLS on a real loopback server, with certificates made for the test.
@Suite struct TLSTests {
    static func serverConfiguration(_ tls: RPCServerTLSConfiguration) -> RPCServerConfiguration {
        var configuration = RPCServerConfiguration()
        configuration.tls = tls
        return configuration
    }

    /// A server presenting `serverOne`, asking clients for a certificate from `clientCA` when given.
    static func servingOne(
        _ certificates: TestCertificates,
        clientCA: TestCertificateAuthority? = nil
    ) -> RPCServerConfiguration {
        serverConfiguration(
            .init(
                certificateChainFile: certificates.serverOne.certificateFile,
                privateKeyFile: certificates.serverOne.privateKeyFile,
                clientCAFile: clientCA?.certificateFile
            )
        )
    }

    static func client(port: Int, host: String = "127.0.0.1", _ tls: RPCClientTLSConfiguration) -> RPCClient {
        var configuration = RPCClientConfiguration()
        configuration.tls = tls
        configuration.backoff = .init(initial: .milliseconds(1), maximum: .milliseconds(1))
        return RPCClient(endpoints: [RPCEndpoint(host: host, port: port)], configuration: configuration)
    }

    static func isRefused(_ error: any Error) -> Bool {
        (error as? RPCError)?.code == .unavailable
    }

    @Test func aCallRoundTripsOverTLS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await RPCTestServer.start(
            Self.servingOne(certificates)
        )
        // Checked against the certificate's IP address, then against its DNS name.
        let byAddress = Self.client(port: server.port, .init(trustRootsFile: certificates.one.certificateFile))
        let reply = try await byAddress.unary(RPCTestServer.echo, RawBytes("over tls"), as: RawBytes.self)
        #expect(reply == RawBytes("over tls"))
        let byName = Self.client(
            port: server.port,
            host: "localhost",
            .init(trustRootsFile: certificates.one.certificateFile)
        )
        #expect(try await byName.unary(RPCTestServer.inline, RawBytes("x"), as: RawBytes.self) == RawBytes("inline x"))
        await byAddress.close()
        await byName.close()
        await server.stop()
    }

    @Test func theServerNameIsCheckedAgainstTheCertificate() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        // A certificate for a name only: connecting by address, the name decides.
        let named = try certificates.one.issue("named", alternativeNames: ["DNS:tokens.internal"])
        let server = try await RPCTestServer.start(
            Self.serverConfiguration(
                .init(certificateChainFile: named.certificateFile, privateKeyFile: named.privateKeyFile)
            )
        )
        let trust = certificates.one.certificateFile
        let right = Self.client(port: server.port, .init(trustRootsFile: trust, serverName: "tokens.internal"))
        #expect(try await right.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self) == RawBytes("x"))
        let wrong = Self.client(port: server.port, .init(trustRootsFile: trust, serverName: "tokens.example"))
        await #expect {
            try await wrong.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }
        // Without a name, the address must be in the certificate, and it is not.
        let byAddress = Self.client(port: server.port, .init(trustRootsFile: trust))
        await #expect {
            try await byAddress.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }
        for client in [right, wrong, byAddress] {
            await client.close()
        }
        await server.stop()
    }

    @Test func aServerCertificateFromAnotherCAIsRefused() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await RPCTestServer.start(
            Self.servingOne(certificates)
        )
        let client = Self.client(port: server.port, .init(trustRootsFile: certificates.two.certificateFile))
        await #expect {
            try await client.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }
        await client.close()
        await server.stop()
    }

    @Test func mutualTLSRefusesClientsWithoutACertificateFromItsCA() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await RPCTestServer.start(
            Self.servingOne(certificates, clientCA: certificates.one)
        )
        let trust = certificates.one.certificateFile
        let anonymous = Self.client(port: server.port, .init(trustRootsFile: trust))
        await #expect {
            try await anonymous.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }

        let foreign = Self.client(
            port: server.port,
            .init(
                trustRootsFile: trust,
                certificateChainFile: certificates.clientTwo.certificateFile,
                privateKeyFile: certificates.clientTwo.privateKeyFile
            )
        )
        await #expect {
            try await foreign.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }

        let member = Self.client(
            port: server.port,
            .init(
                trustRootsFile: trust,
                certificateChainFile: certificates.clientOne.certificateFile,
                privateKeyFile: certificates.clientOne.privateKeyFile
            )
        )
        #expect(try await member.unary(RPCTestServer.echo, RawBytes("in"), as: RawBytes.self) == RawBytes("in"))
        for client in [anonymous, foreign, member] {
            await client.close()
        }
        await server.stop()
    }

    @Test func plaintextOnATLSPortIsClosedAndTheServerKeepsServing() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try await RPCTestServer.start(
            Self.servingOne(certificates)
        )
        // A well-formed plaintext request frame.
        let frame = try FrameEncoder().encode(
            RpcRequest(callID: 1, method: RPCTestServer.echo, payload: Array("clear".utf8)),
            allocator: ByteBufferAllocator()
        )
        let received = try await ByteSink.exchange(port: server.port, send: frame)
        // The server closed the connection, answering with a TLS alert record at most, never a frame.
        #expect(received.isEmpty || received.first == 0x15)

        let client = Self.client(port: server.port, .init(trustRootsFile: certificates.one.certificateFile))
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("after"), as: RawBytes.self) == RawBytes("after"))
        await client.close()
        await server.stop()
    }

    @Test func reloadServesNewCertificatesToNewConnectionsAndKeepsOldOnes() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let chain = certificates.directory + "/served.pem"
        let key = certificates.directory + "/served.key"
        try FileManager.default.copyItem(atPath: certificates.serverOne.certificateFile, toPath: chain)
        try FileManager.default.copyItem(atPath: certificates.serverOne.privateKeyFile, toPath: key)
        let server = try await RPCTestServer.start(
            Self.serverConfiguration(.init(certificateChainFile: chain, privateKeyFile: key))
        )
        let old = Self.client(port: server.port, .init(trustRootsFile: certificates.one.certificateFile))
        #expect(try await old.unary(RPCTestServer.echo, RawBytes("before"), as: RawBytes.self) == RawBytes("before"))

        for (source, target) in [
            (certificates.serverTwo.certificateFile, chain), (certificates.serverTwo.privateKeyFile, key),
        ] {
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        #expect(try await server.server.reloadTLS())

        // New connections get the new certificate: CA two's clients connect, CA one's no longer do.
        let new = Self.client(port: server.port, .init(trustRootsFile: certificates.two.certificateFile))
        #expect(try await new.unary(RPCTestServer.echo, RawBytes("new"), as: RawBytes.self) == RawBytes("new"))
        let stale = Self.client(port: server.port, .init(trustRootsFile: certificates.one.certificateFile))
        await #expect {
            try await stale.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { Self.isRefused($0) }
        // The connection opened before the reload keeps working.
        #expect(try await old.unary(RPCTestServer.echo, RawBytes("still"), as: RawBytes.self) == RawBytes("still"))

        // A reload from files that are not usable keeps the current certificates.
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: key))
        await #expect(throws: RPCConfigurationError.self) { try await server.server.reloadTLS() }
        let after = Self.client(port: server.port, .init(trustRootsFile: certificates.two.certificateFile))
        #expect(try await after.unary(RPCTestServer.echo, RawBytes("kept"), as: RawBytes.self) == RawBytes("kept"))
        for client in [old, new, stale, after] {
            await client.close()
        }
        await server.stop()
    }

    @Test func unusableFilesStopTheServerFromStarting() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tls-bad")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/empty.pem"
        try Data().write(to: URL(fileURLWithPath: file))
        await #expect(throws: RPCConfigurationError.self) {
            _ = try await RPCTestServer.start(
                Self.serverConfiguration(.init(certificateChainFile: file, privateKeyFile: file))
            )
        }
        // A certificate with another certificate's key.
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let mismatched = RPCServerTLSConfiguration(
            certificateChainFile: certificates.serverOne.certificateFile,
            privateKeyFile: certificates.serverTwo.privateKeyFile
        )
        #expect(throws: RPCConfigurationError.self) { try mismatched.checkFiles() }
        // A client certificate without its key is refused before any connection.
        let halfClient = RPCClientTLSConfiguration(certificateChainFile: certificates.clientOne.certificateFile)
        #expect(throws: RPCConfigurationError.self) { try halfClient.checkFiles() }
    }
}

/// A bare TCP client: sends bytes, then collects what the server sends until the server closes.
private final class ByteSink: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let received: EventLoopPromise<[UInt8]>
    private var bytes: [UInt8] = []

    private init(received: EventLoopPromise<[UInt8]>) {
        self.received = received
    }

    static func exchange(port: Int, send: ByteBuffer) async throws -> [UInt8] {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteSink(received: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        try await channel.writeAndFlush(send).get()
        return try await promise.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        bytes.append(contentsOf: buffer.readableBytesView)
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.succeed(bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset after the server's close still counts as closed by the server.
        context.close(promise: nil)
    }
}
