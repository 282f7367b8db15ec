import TokenClient
import TokenRPC

/// A client per test caller (`TokenTestServer.callers`, and "" for none and "wrong-key" for an unknown
/// key), each presenting its name as its API key, to one loopback port; and the service's tasks.
struct CallerClients: Sendable {
    private let clients: [String: TokenServiceClient]
    private let tasks: [Task<Void, any Error>]

    /// - Parameters:
    ///   - port: the service's RPC port on 127.0.0.1.
    ///   - tasks: the tasks running the service and its server, cancelled by `stop()` last first.
    init(port: Int, tasks: [Task<Void, any Error>]) {
        var clients: [String: TokenServiceClient] = [:]
        for name in TokenTestServer.callers.map(\.name) + ["", "wrong-key"] {
            clients[name] = TokenServiceClient(
                wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)], credential: name)
            )
        }
        self.clients = clients
        self.tasks = tasks
    }

    /// The client presenting the API key of the named caller.
    func client(_ caller: String) -> TokenServiceClient {
        guard let client = clients[caller] else {
            preconditionFailure("no test caller named \(caller)")
        }
        return client
    }

    /// Closes the clients, then cancels the tasks and waits for them.
    func stop() async {
        for client in clients.values {
            await client.rpc.close()
        }
        for task in tasks.reversed() {
            task.cancel()
            _ = await task.result
        }
    }
}
