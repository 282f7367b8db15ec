import Testing
import TokenRPC

/// An `RPCClient` whose server does not answer connection attempts.
@Suite struct RPCClientConnectTests {
    /// Connecting alone would wait this long; the calls below must end far sooner.
    private static let patientConfiguration: RPCClientConfiguration = {
        var configuration = RPCClientConfiguration()
        configuration.connectTimeout = .seconds(600)
        configuration.defaultTimeout = nil
        return configuration
    }()

    @Test func aCallsDeadlineBoundsItsWaitForAConnection() async throws {
        let listener = try await StalledListener.start()
        let client = RPCClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: listener.port)],
            configuration: Self.patientConfiguration
        )
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.unary(
                RPCTestServer.echo, RawBytes("first"), as: RawBytes.self, timeout: .milliseconds(200))
        }
        // A second call waits for the same attempt, bounded by its own deadline.
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.unary(
                RPCTestServer.echo, RawBytes("second"), as: RawBytes.self, timeout: .milliseconds(200))
        }
        await client.close()
        await listener.close()
    }

    @Test func cancellingACallEndsItsWaitForAConnection() async throws {
        let listener = try await StalledListener.start()
        let client = RPCClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: listener.port)],
            configuration: Self.patientConfiguration
        )
        let call = Task {
            try await client.unary(RPCTestServer.echo, RawBytes("never sent"), as: RawBytes.self)
        }
        call.cancel()
        await #expect {
            try await call.value
        } throws: { error in
            (error as? RPCError)?.code == .cancelled
        }
        await client.close()
        await listener.close()
    }
}
