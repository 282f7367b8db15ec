import ArgumentParser
import Foundation
import Logging
import TokenServer

/// The benchmark's service (`BenchService` on the embedded store) in a process of its own, as
/// `tokend` runs it: prints its port on a line, then serves until its standard input closes. The
/// scenarios that measure the server's memory start it, so that what they read is the server's alone.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The benchmark's service in a process of its own (prints its port; stops when stdin closes).",
        shouldDisplay: false
    )

    @Option(help: "The directory of its embedded store.")
    var directory: String

    func run() async throws {
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: directory,
            logger: logger)
        print(bench.port)
        fflush(nil)
        await withCheckedContinuation { (closed: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                _ = FileHandle.standardInput.readDataToEndOfFile()
                closed.resume()
            }
        }
        try await bench.stop()
    }
}

/// A `tokenbench serve` process started by this one.
struct BenchServerProcess {
    /// The port it serves on (loopback).
    let port: Int
    private let process: Process
    private let input: Pipe

    /// Starts the server on a new embedded store in `directory` and waits until it serves.
    static func start(directory: String) throws -> BenchServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--directory", directory]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line: [UInt8] = []
        while line.last != UInt8(ascii: "\n") {
            let data = output.fileHandleForReading.readData(ofLength: 1)
            guard !data.isEmpty else {
                process.waitUntilExit()
                throw ValidationError("tokenbench serve ended before it served (status \(process.terminationStatus))")
            }
            line += data
        }
        guard let port = Int(String(decoding: line.dropLast(), as: UTF8.self)) else {
            throw ValidationError("tokenbench serve printed no port")
        }
        return BenchServerProcess(port: port, process: process, input: input)
    }

    /// Its resident memory now, from `/proc/PID/statm`.
    var residentBytes: Int {
        MemoryCommand.residentBytes(ofProcess: "\(process.processIdentifier)")
    }

    /// The CPU time (user and system) it has used, in seconds.
    var cpuSeconds: Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        return Double(ProcessCPU.threadTicks(stat) ?? 0) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Closes its standard input and waits until it has stopped.
    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
