import Synchronization

/// Named one-shot gates: handlers wait on them (cancellably), tests open them.
final class Gates: Sendable {
    private struct State {
        var opened: Set<String> = []
        var waiters: [Int: (name: String, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Opens a gate, releasing its waiters and every later wait.
    func open(_ name: String) {
        let released = state.withLock { state in
            state.opened.insert(name)
            let released = state.waiters.filter { $0.value.name == name }
            for id in released.keys { state.waiters[id] = nil }
            return released.values.map(\.continuation)
        }
        for continuation in released { continuation.resume() }
    }

    /// Waits until the gate opens; throws `CancellationError` when the task is cancelled first.
    func wait(_ name: String) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.opened.contains(name) { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = (name, continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
