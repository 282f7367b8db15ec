import Foundation

/// Drains a pipe on a thread of its own, so the process writing it never blocks, and lets a test
/// wait for what it wrote.
public final class PipeCollector: @unchecked Sendable {
    // @unchecked: `bytes` and `ended` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var bytes = Data()
    private var ended = false

    /// Starts reading `handle` until its end.
    public init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty {
                    ended = true
                } else {
                    bytes.append(chunk)
                }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    /// What was read so far.
    public var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The complete lines read so far.
    public var lines: [String] {
        condition.lock()
        defer { condition.unlock() }
        return Self.completeLines(bytes)
    }

    /// How many bytes were read so far (an offset for `wait(for:after:within:)`).
    public var size: Int {
        condition.lock()
        defer { condition.unlock() }
        return bytes.count
    }

    /// Waits until the bytes after `offset` contain `text`, the pipe ends, or `limit` passes.
    /// - Returns: whether `text` was found.
    public func wait(for text: String, after offset: Int = 0, within limit: Duration = .seconds(60)) -> Bool {
        wait(within: limit) { bytes in
            guard bytes.count > offset else { return nil }
            return String(decoding: bytes[(bytes.startIndex + offset)...], as: UTF8.self).contains(text) ? true : nil
        } ?? false
    }

    /// Waits for the first complete line starting with `prefix`.
    /// - Returns: the line, or nil when the pipe ends or `limit` passes first.
    public func waitForLine(startingWith prefix: String, within limit: Duration = .seconds(60)) -> String? {
        wait(within: limit) { bytes in Self.completeLines(bytes).first { $0.hasPrefix(prefix) } }
    }

    /// Waits until the pipe ends or `limit` passes.
    /// - Returns: whether it ended.
    @discardableResult
    public func waitForEnd(within limit: Duration = .seconds(60)) -> Bool {
        wait(within: limit) { _ in self.ended ? true : nil } ?? false
    }

    private func wait<T>(within limit: Duration, until found: (Data) -> T?) -> T? {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value = found(bytes) { return value }
            if ended || !condition.wait(until: deadline) { return found(bytes) }
        }
    }

    private static func completeLines(_ bytes: Data) -> [String] {
        guard let last = bytes.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        return String(decoding: bytes[..<last], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
    }
}
