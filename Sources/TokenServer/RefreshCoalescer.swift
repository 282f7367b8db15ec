import TokenWire

/// Runs at most one refresh per refresh token at a time in this process: concurrent callers with the
/// same token wait for the first attempt and share its outcome.
actor RefreshCoalescer {
    private var inFlight: [[UInt8]: Task<IssueResponse, any Error>] = [:]

    /// Runs `body` for `key` (a refresh token's hash), or joins the attempt already running for it.
    func run(key: [UInt8], _ body: @escaping @Sendable () async throws -> IssueResponse) async throws -> IssueResponse {
        if let running = inFlight[key] {
            return try await running.value
        }
        let attempt = Task { try await body() }
        inFlight[key] = attempt
        defer { inFlight[key] = nil }
        return try await attempt.value
    }
}
