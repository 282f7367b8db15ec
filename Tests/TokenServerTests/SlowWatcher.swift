import Foundation
import TokenWire

#if canImport(Glibc)
import Glibc
#endif

/// A WatchRevocations client on a slow link: a blocking socket with a small receive buffer, read no
/// faster than `bytesPerSecond`, on a thread of its own.
struct SlowWatcher {
    /// What reading a snapshot took.
    struct Snapshot {
        var events = 0
        var bytes = 0
        var duration = Duration.zero
    }

    let port: Int
    let credential: String
    let bytesPerSecond: Int

    /// Opens the stream and reads until the batch that completes the snapshot.
    /// - Throws: `HarnessError` naming what the server answered instead, or a socket failure.
    func readSnapshot() async throws -> Snapshot {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.read() })
            }
        }
    }

    private func read() throws -> Snapshot {
        let socket = try connect()
        defer { close(socket) }
        let request = RpcRequest(
            callID: 1, method: TokenServiceMethod.watchRevocations,
            payload: WatchRevocationsRequest().serializedBytes(), credential: credential)
        let body = request.serializedBytes()
        var frame = withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) }
        frame += body
        guard send(socket, frame, frame.count, 0) == frame.count else {
            throw HarnessError(message: "cannot send the call")
        }

        let started = ContinuousClock.now
        var snapshot = Snapshot()
        var buffer: [UInt8] = []
        while true {
            // Paced: the bytes read so far may not be ahead of the rate.
            let due = started + .seconds(Double(snapshot.bytes) / Double(bytesPerSecond))
            let wait = due - ContinuousClock.now
            if wait > .zero {
                usleep(UInt32(wait / .microseconds(1)))
            }
            var chunk = [UInt8](repeating: 0, count: 16 * 1_024)
            let count = recv(socket, &chunk, chunk.count, 0)
            guard count > 0 else {
                throw HarnessError(message: "the server closed the stream after \(snapshot.events) events")
            }
            snapshot.bytes += count
            buffer += chunk[0..<count]
            while buffer.count >= 4 {
                let length = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                guard buffer.count >= 4 + length else { break }
                let response = try RpcResponse(serializedBytes: Array(buffer[4..<4 + length]))
                buffer.removeFirst(4 + length)
                guard response.code == 0, !response.endOfStream else {
                    throw HarnessError(message: 
                        "the stream ended after \(snapshot.events) events: \(response.code) \(response.message)")
                }
                let batch = try RevocationBatch(serializedBytes: response.payload)
                snapshot.events += batch.events.count
                if !batch.snapshot {
                    snapshot.duration = ContinuousClock.now - started
                    return snapshot
                }
            }
        }
    }

    private func connect() throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0, let port = UInt16(exactly: port) else { throw HarnessError(message: "no socket") }
        // Set before connecting, so the window the server sees stays small.
        var size: Int32 = 32 * 1_024
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                Glibc.connect(descriptor, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(descriptor)
            throw HarnessError(message: "cannot connect to port \(port)")
        }
        return descriptor
    }
}
