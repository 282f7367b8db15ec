import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port that refuses connections while this value holds it: a socket bound to it
/// without listening. Unlike the port of a stopped server, no test running alongside can start
/// listening on it meanwhile.
public final class RefusingPort: Sendable {
    /// The port held.
    public let port: Int
    private let descriptor: Mutex<Int32?>

    /// Holds `port`, or a free port when 0.
    /// - Parameter port: the port to hold, 0 for any free one.
    /// - Throws: `RefusingPortError` when no socket can be bound to it.
    public init(port: Int = 0) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0, let requested = UInt16(exactly: port) else { throw RefusingPortError() }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = requested.bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw RefusingPortError()
        }
        self.descriptor = Mutex(descriptor)
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Lets the port go: from now on anyone may listen on it.
    public func release() {
        if let descriptor = descriptor.withLock({ $0.take() }) {
            close(descriptor)
        }
    }

    deinit {
        release()
    }
}

/// No socket could be bound to the port asked for.
public struct RefusingPortError: Error {}
