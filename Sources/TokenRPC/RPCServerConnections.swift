import NIOCore
import Synchronization

/// The open connections of a server, so shutdown can drain or close them all.
final class RPCServerConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        let handler: NIOLoopBound<RPCServerConnectionHandler>
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var draining = false
    }

    private let state = Mutex(State())

    /// Tracks a new connection until it closes; one that opens during shutdown is drained at once.
    func add(_ channel: any Channel, handler: RPCServerConnectionHandler) {
        let entry = Entry(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        let key = ObjectIdentifier(channel)
        let draining = state.withLock { state in
            if !state.draining {
                state.entries[key] = entry
            }
            return state.draining
        }
        if draining {
            Self.drain(entry)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.entries.removeValue(forKey: key) }
        }
    }

    /// Drains every connection (see `RPCServerConnectionHandler.beginDrain()`).
    /// - Returns: a future that completes when all of them have closed.
    func drainAll(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let entries = state.withLock { state in
            state.draining = true
            return Array(state.entries.values)
        }
        for entry in entries {
            Self.drain(entry)
        }
        return EventLoopFuture.andAllComplete(entries.map { $0.channel.closeFuture }, on: eventLoop)
    }

    /// Closes every connection at once.
    func closeAll() {
        let entries = state.withLock { state in
            state.draining = true
            return Array(state.entries.values)
        }
        for entry in entries {
            entry.channel.close(promise: nil)
        }
    }

    private static func drain(_ entry: Entry) {
        entry.channel.eventLoop.execute {
            entry.handler.value.beginDrain()
        }
    }
}
