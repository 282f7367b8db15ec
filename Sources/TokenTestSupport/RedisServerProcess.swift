import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `redis-server` (or `redis-sentinel`) of a test's own, for tests that stop and restart it, on a
/// loopback port, with `appendonly yes` and `appendfsync always` in a directory that outlives a
/// restart.
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked: `process` is only replaced by `start()`/`stop()`, which a test calls in sequence.

    /// The port it listens on (kept across restarts).
    public let port: Int
    /// Its data directory (the append-only file survives a restart).
    public let directory: String
    private var process: Process?
    private let executable: String
    private let extraArguments: [String]

    /// Picks a free port and a fresh directory; `start()` starts the server.
    /// - Parameter replicaOf: the port of a loopback master to replicate, or nil for a master.
    /// - Throws: when no port or directory can be had.
    public init(replicaOf: Int? = nil) throws {
        let reserved = try RefusingPort()
        port = reserved.port
        reserved.release()
        directory = try TemporaryDirectory.make(prefix: "redis-server")
        executable = "redis-server"
        extraArguments = replicaOf.map { ["--replicaof", "127.0.0.1", "\($0)"] } ?? []
    }

    /// A `redis-sentinel` monitoring the loopback master on `masterPort` as `masterName`, with a
    /// quorum of 2, declaring it down after one second.
    /// - Throws: when no port, directory or configuration file can be had.
    public init(sentinelOf masterPort: Int, masterName: String) throws {
        let reserved = try RefusingPort()
        port = reserved.port
        reserved.release()
        directory = try TemporaryDirectory.make(prefix: "redis-sentinel")
        executable = "redis-sentinel"
        let configuration = directory + "/sentinel.conf"
        let text = """
            bind 127.0.0.1
            port \(port)
            dir \(directory)
            sentinel monitor \(masterName) 127.0.0.1 \(masterPort) 2
            sentinel down-after-milliseconds \(masterName) 1000
            sentinel failover-timeout \(masterName) 5000
            sentinel parallel-syncs \(masterName) 1

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: configuration))
        extraArguments = [configuration]
    }

    /// The server's URL.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts `redis-server` and waits until it accepts connections (at most `timeout`).
    /// - Parameter appendOnly: whether it logs every write (else it loads `dump.rdb` of its directory).
    /// - Throws: when it cannot be started or does not listen in time.
    public func start(timeout: Duration = .seconds(10), appendOnly: Bool = true) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if executable == "redis-sentinel" {
            process.arguments =
                [executable] + extraArguments + [
                    "--daemonize", "no", "--logfile", directory + "/sentinel.log",
                ]
        } else {
            process.arguments =
                [
                    executable, "--bind", "127.0.0.1", "--port", "\(port)", "--save", "",
                    "--appendonly", appendOnly ? "yes" : "no",
                    "--appendfsync", "always", "--dir", directory, "--daemonize", "no",
                    "--logfile", directory + "/redis.log",
                ] + extraArguments
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + timeout
        while !Self.accepts(port: port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw RedisServerProcessError(message: "\(executable) did not listen on \(port)")
            }
            usleep(20_000)
        }
    }

    /// Kills the server and starts it again from `snapshot`, an RDB file it saved earlier (`SAVE`,
    /// then a copy): what a restart from an older snapshot, or the promotion of a replica that
    /// lags, leaves behind. Every write after the snapshot is lost.
    /// - Throws: when the files cannot be put in place or the server does not start.
    public func restart(fromSnapshot snapshot: String) throws {
        stop(signal: SIGKILL)
        let files = FileManager.default
        try? files.removeItem(atPath: directory + "/appendonlydir")
        try? files.removeItem(atPath: directory + "/dump.rdb")
        try files.copyItem(atPath: snapshot, toPath: directory + "/dump.rdb")
        try start(appendOnly: false)
    }

    /// Stops the server with `signal` and waits for it to exit.
    public func stop(signal: Int32 = SIGKILL) {
        guard let process else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether something accepts TCP connections on the loopback port.
    private static func accepts(port: Int) -> Bool {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0, let port = UInt16(exactly: port) else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                connect(descriptor, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A `redis-server` could not be started.
public struct RedisServerProcessError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    public var description: String { message }
}
