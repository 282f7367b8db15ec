import NIOCore
import NIOPosix

/// A listening socket that never accepts, with its accept queue full: the kernel drops further
/// connection attempts, so connecting to it hangs as it does to a host that does not answer.
struct StalledListener {
    let port: Int
    private let channels: [any Channel]

    static func start() async throws -> StalledListener {
        let group = MultiThreadedEventLoopGroup.singleton
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1)
            .serverChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = listener.localAddress?.port else {
            try await listener.close()
            throw StalledListenerError()
        }
        // With a backlog of 1 the kernel queues two connections; these two fill the queue.
        var channels: [any Channel] = [listener]
        for _ in 0..<2 {
            channels.append(try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get())
        }
        return StalledListener(port: port, channels: channels)
    }

    /// Closes the filling connections and the listener; pending connection attempts then fail.
    func close() async {
        for channel in channels.reversed() {
            try? await channel.close()
        }
    }
}

struct StalledListenerError: Error {}
