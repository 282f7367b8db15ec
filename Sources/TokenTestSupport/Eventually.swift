/// Polls `condition` every 20 ms until it holds or `timeout` passes: for a state a test can observe
/// but is not told of.
/// - Returns: whether it held (asked once more at the deadline).
public func eventually(
    within timeout: Duration,
    _ condition: @Sendable () async -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
