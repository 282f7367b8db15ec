/// Where a listener listens once bound, for the callers that wait for it (port 0 picks the port).
/// The listener settles it with the outcome of its bind.
struct ListeningAddress {
    /// The bound host and port, or the bind error; nil while binding.
    private var outcome: Result<(host: String, port: Int), any Error>?
    private var waiters: [CheckedContinuation<(host: String, port: Int), any Error>] = []

    /// Answers `waiter` with the outcome, at once when it is known, else when it is settled.
    mutating func wait(_ waiter: CheckedContinuation<(host: String, port: Int), any Error>) {
        if let outcome {
            waiter.resume(with: outcome)
        } else {
            waiters.append(waiter)
        }
    }

    /// Records the outcome of the bind and answers every waiter.
    mutating func settle(_ outcome: Result<(host: String, port: Int), any Error>) {
        self.outcome = outcome
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting {
            waiter.resume(with: outcome)
        }
    }
}
