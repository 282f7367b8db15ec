import CHiredis
import NIOCore

/// A command to send: its arguments, binary safe, encoded by hiredis (`redisFormatCommandArgv`).
public struct RedisCommand: Sendable, Hashable {
    /// The command name and its arguments.
    public var arguments: [[UInt8]]

    /// Creates a command from binary arguments.
    /// - Parameter arguments: the command name first, then its arguments.
    public init(_ arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// Creates a command from text arguments.
    /// - Parameter arguments: the command name first, then its arguments.
    public init(_ arguments: String...) {
        self.arguments = arguments.map { Array($0.utf8) }
    }

    /// Creates a command from a name and arguments of any of the supported kinds.
    /// - Parameters:
    ///   - name: the command name.
    ///   - arguments: its arguments.
    public init(_ name: String, _ arguments: [RedisArgument]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.bytes)
    }

    /// Appends the RESP encoding of the command to `buffer`.
    /// - Throws: `protocolViolation` when hiredis cannot encode it (out of memory).
    func encode(into buffer: inout ByteBuffer) throws(RedisError) {
        let count = arguments.count
        guard count > 0, count <= Int(Int32.max) else { throw .protocolViolation("a command needs a name") }
        var lengths = arguments.map { $0.count }
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        pointers.reserveCapacity(count)
        defer {
            for pointer in pointers {
                pointer?.deallocate()
            }
        }
        for argument in arguments {
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(argument.count, 1))
            argument.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress, !bytes.isEmpty {
                    UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            pointers.append(copy)
        }
        var target: UnsafeMutablePointer<CChar>?
        let written = pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeMutableBufferPointer { argvlen in
                guard let base = argv.baseAddress else { return Int32(-1) }
                return base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: count) { argvBase in
                    redisFormatCommandArgv(&target, Int32(count), argvBase, argvlen.baseAddress)
                }
            }
        }
        guard written > 0, let target else {
            throw .protocolViolation("cannot encode a command")
        }
        defer { redisFreeCommand(target) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(written)))
    }
}

/// An argument of a `RedisCommand`.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The argument's bytes.
    public var bytes: [UInt8]

    /// A binary argument.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// A text argument.
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    /// A decimal integer argument.
    public init(_ value: Int64) { self.bytes = Array(String(value).utf8) }
    /// A decimal integer argument.
    public init(_ value: Int) { self.bytes = Array(String(value).utf8) }
    /// A decimal integer argument.
    public init(_ value: UInt64) { self.bytes = Array(String(value).utf8) }
    /// A text argument written as a literal.
    public init(stringLiteral value: String) { self.init(value) }
    /// A decimal integer argument written as a literal.
    public init(integerLiteral value: Int) { self.init(value) }
}
