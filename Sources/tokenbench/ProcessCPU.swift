import Foundation

/// CPU time of this process's threads and of the whole machine, read from `/proc` (Linux only:
/// elsewhere `take()` answers nil). Two snapshots bracket a measurement window; their difference
/// says where the cores went: the server's event loops, the store's threads, the load generator,
/// or nowhere (idle).
struct ProcessCPU {
    /// What a thread does, judged by its name.
    enum Role: String, CaseIterable {
        case eventLoops = "event loops"
        case storeWriter = "store writer"
        case storeReaders = "store readers"
        case loadGenerator = "load generator"
        case other = "other"

        /// The server runs on NIO's singleton group, the load generator on a group of its own
        /// (`NIO-ELT-…`), the store on threads it names.
        init(threadName: String) {
            if threadName.hasPrefix("NIO-SGLTN") {
                self = .eventLoops
            } else if threadName.hasPrefix("NIO-ELT") {
                self = .loadGenerator
            } else if threadName.hasPrefix("store writer") {
                self = .storeWriter
            } else if threadName.hasPrefix("store reader") {
                self = .storeReaders
            } else {
                self = .other
            }
        }
    }

    /// Clock ticks of CPU (user and system) per thread id, with the thread's role.
    private var threads: [String: (role: Role, ticks: Int)] = [:]
    /// Clock ticks the machine spent idle or waiting for I/O, and in all.
    private var machineIdleTicks = 0
    private var machineTicks = 0

    /// The current counters; nil when `/proc` cannot be read.
    static func take() -> ProcessCPU? {
        #if os(Linux)
        let tasks = "/proc/self/task"
        guard let identifiers = try? FileManager.default.contentsOfDirectory(atPath: tasks),
            let machine = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let (idle, total) = machineCounters(machine)
        else {
            return nil
        }
        var snapshot = ProcessCPU(machineIdleTicks: idle, machineTicks: total)
        for identifier in identifiers {
            // A thread may end between the listing and the reads: it is left out.
            guard let name = try? String(contentsOfFile: "\(tasks)/\(identifier)/comm", encoding: .utf8),
                let stat = try? String(contentsOfFile: "\(tasks)/\(identifier)/stat", encoding: .utf8),
                let ticks = threadTicks(stat)
            else {
                continue
            }
            snapshot.threads[identifier] = (Role(threadName: name.trimmingCharacters(in: .newlines)), ticks)
        }
        return snapshot
        #else
        return nil
        #endif
    }

    /// Where the cores went between two snapshots.
    struct Usage {
        /// CPU seconds per role (threads that ended meanwhile are missing).
        let seconds: [Role: Double]
        /// The share of the machine's time its cores sat idle or waited for I/O.
        let idleShare: Double
    }

    /// The usage between `start` and this snapshot.
    func usage(since start: ProcessCPU) -> Usage {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var seconds: [Role: Double] = [:]
        for (identifier, thread) in threads {
            let used = thread.ticks - (start.threads[identifier]?.ticks ?? 0)
            seconds[thread.role, default: 0] += Double(used) / ticksPerSecond
        }
        let total = machineTicks - start.machineTicks
        let idleShare = total > 0 ? Double(machineIdleTicks - start.machineIdleTicks) / Double(total) : 0
        return Usage(seconds: seconds, idleShare: idleShare)
    }

    /// utime + stime (fields 14 and 15) of a `/proc/…/stat` line; the name in parentheses may hold
    /// spaces, so the fields are counted after its closing parenthesis.
    static func threadTicks(_ stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Idle + iowait, and the sum of the time fields, of `/proc/stat`'s first (`cpu`) line.
    static func machineCounters(_ stat: String) -> (idle: Int, total: Int)? {
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        // user nice system idle iowait irq softirq steal; the guest fields after them repeat user time.
        let values = line.split(separator: " ").dropFirst().prefix(8).compactMap { Int($0) }
        guard values.count >= 5 else { return nil }
        return (values[3] + values[4], values.reduce(0, +))
    }
}
