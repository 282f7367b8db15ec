import NIOCore
import Synchronization
import TokenWire

/// The calls in flight on one client connection, keyed by call id.
///
/// Shared by the calling tasks (which register and abandon calls) and the connection's event loop
/// (which delivers responses), so it lives behind a mutex; every delivery happens outside the lock.
final class RPCClientCalls: Sendable {
    /// Where a call's responses go.
    enum Pending: Sendable {
        case unary(CheckedContinuation<RpcResponse, any Error>)
        /// `deliver` takes one message of the stream and returns an error to abort the stream with;
        /// `finish` ends it (nil: OK).
        case stream(deliver: @Sendable (RpcResponse) -> RPCError?, finish: @Sendable (RPCError?) -> Void)

        /// Ends the call with `error`.
        func fail(_ error: RPCError) {
            switch self {
            case .unary(let continuation): continuation.resume(throwing: error)
            case .stream(_, let finish): finish(error)
            }
        }
    }

    private struct Entry {
        var pending: Pending
        var timer: Scheduled<Void>?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var closedReason: RPCError?
    }

    private let state = Mutex(State())

    /// Whether the connection has failed.
    var isClosed: Bool {
        state.withLock { $0.closedReason != nil }
    }

    /// Adds a call, unless the calling task is cancelled or the connection has failed.
    /// - Returns: nil when added, else the error to end the call with.
    func register(_ callID: UInt64, _ pending: Pending) -> RPCError? {
        state.withLock { state in
            if let reason = state.closedReason { return reason }
            if Task.isCancelled { return .cancelled() }
            state.entries[callID] = Entry(pending: pending)
            return nil
        }
    }

    /// Attaches a deadline timer to a call; cancels the timer when the call already ended.
    func attach(_ timer: Scheduled<Void>, to callID: UInt64) {
        let attached = state.withLock { state in
            guard state.entries[callID] != nil else { return false }
            state.entries[callID]?.timer = timer
            return true
        }
        if !attached {
            timer.cancel()
        }
    }

    /// Removes a call.
    /// - Returns: where its responses went, or nil when it had already ended.
    func remove(_ callID: UInt64) -> Pending? {
        let entry = state.withLock { $0.entries.removeValue(forKey: callID) }
        entry?.timer?.cancel()
        return entry?.pending
    }

    /// Finds the call a response belongs to, removing it when the response is its last (a unary
    /// call's only frame, or a stream's end).
    /// - Returns: the call and whether the response is its last, or nil for an unknown call.
    func route(_ response: RpcResponse) -> (pending: Pending, isLast: Bool)? {
        let found = state.withLock { state -> (entry: Entry, isLast: Bool)? in
            guard let entry = state.entries[response.callID] else { return nil }
            let isLast: Bool
            if case .unary = entry.pending { isLast = true } else { isLast = response.endOfStream }
            if isLast {
                state.entries[response.callID] = nil
            }
            return (entry, isLast)
        }
        guard let found else { return nil }
        if found.isLast {
            found.entry.timer?.cancel()
        }
        return (found.entry.pending, found.isLast)
    }

    /// Fails every call and every later registration with `reason`.
    func failAll(_ reason: RPCError) {
        let entries = state.withLock { state in
            if state.closedReason == nil {
                state.closedReason = reason
            }
            let entries = state.entries
            state.entries.removeAll()
            return entries
        }
        for entry in entries.values {
            entry.timer?.cancel()
            entry.pending.fail(reason)
        }
    }
}
