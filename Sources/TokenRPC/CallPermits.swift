import NIOCore
import Synchronization

/// Limits how many calls (or parts of calls) run at once; further ones wait, first come first
/// served. The RPC client limits its calls in flight with it; a handler can limit costly work.
public final class CallPermits: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters = CircularBuffer<Waiter>()
        var nextWaiterID: UInt64 = 0
    }

    private let state: Mutex<State>

    /// Creates permits for `limit` calls at once (at least one).
    public init(limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Takes a permit, waiting for one when all are taken.
    /// - Parameter deadline: when to stop waiting; nil waits as long as it takes.
    /// - Throws: `RPCError.cancelled()` when the task is cancelled while waiting,
    ///   `RPCError.deadlineExceeded()` when the deadline passes first.
    public func acquire(deadline: ContinuousClock.Instant?) async throws {
        let id: UInt64? = state.withLock { state in
            if state.available > 0 {
                state.available -= 1
                return nil
            }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        let expiry = deadline.map { deadline in
            Task {
                try await Task.sleep(until: deadline)
                self.remove(id, failing: .deadlineExceeded())
            }
        }
        defer { expiry?.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Bool, RPCError> = state.withLock { state in
                    if Task.isCancelled { return .failure(.cancelled()) }
                    if state.available > 0 {
                        state.available -= 1
                        return .success(true)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .success(false)
                }
                switch outcome {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            remove(id, failing: .cancelled())
        }
    }

    /// Ends the wait of waiter `id`, if it still waits, with `error`.
    private func remove(_ id: UInt64, failing error: RPCError) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns a permit, handing it to the longest waiter if there is one.
    public func release() {
        let next: Waiter? = state.withLock { state in
            if let waiter = state.waiters.popFirst() {
                return waiter
            }
            state.available += 1
            return nil
        }
        next?.continuation.resume()
    }
}
