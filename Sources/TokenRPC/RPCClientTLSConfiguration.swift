import NIOCore
import NIOSSL

/// TLS for an `RPCClient`: which CAs to trust, the client's own certificate for mutual TLS, and the
/// name the server's certificate must carry.
///
/// TLS 1.2 is the oldest version accepted, and the server's certificate is always checked against
/// the trusted CAs and the server name.
public struct RPCClientTLSConfiguration: Sendable, Hashable {
    /// PEM certificates of the CAs trusted to sign the server's certificate; nil trusts the
    /// system's CAs.
    public var trustRootsFile: String?
    /// The client's certificate chain, PEM, leaf first, presented when the server asks (mutual TLS).
    public var certificateChainFile: String?
    /// The private key of `certificateChainFile`, PEM.
    public var privateKeyFile: String?
    /// The name the server's certificate must carry; nil uses the endpoint's host (a host that is
    /// an IP address is then checked against the certificate's IP addresses).
    public var serverName: String?

    /// Creates a configuration.
    /// - Parameters:
    ///   - trustRootsFile: the trusted CAs, PEM; nil for the system's.
    ///   - certificateChainFile: the client's certificate chain for mutual TLS, PEM.
    ///   - privateKeyFile: the client's private key, PEM.
    ///   - serverName: the name checked against the server's certificate; nil for the endpoint's host.
    public init(
        trustRootsFile: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        serverName: String? = nil
    ) {
        self.trustRootsFile = trustRootsFile
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.serverName = serverName
    }

    /// Reads the files and checks that they make a usable TLS configuration, as the client does
    /// before its first connection.
    /// - Throws: `RPCConfigurationError` naming the file that is unreadable or not what it should be.
    public func checkFiles() throws(RPCConfigurationError) {
        _ = try makeContext()
    }

    /// Reads the files and makes the context of every connection.
    /// - Returns: the context.
    /// - Throws: `RPCConfigurationError` when a file cannot be read or does not hold what it should,
    ///   or when only one of the certificate and the key is given.
    public func makeContext() throws(RPCConfigurationError) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let trustRootsFile {
            tls.trustRoots = .certificates(try TLSFiles.certificates(trustRootsFile))
        }
        switch (certificateChainFile, privateKeyFile) {
        case (let chainFile?, let keyFile?):
            tls.certificateChain = try TLSFiles.certificates(chainFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try TLSFiles.privateKey(keyFile))
        case (nil, nil):
            break
        default:
            throw .invalidTLSConfiguration("a client certificate needs its private key and the key its certificate")
        }
        return try TLSFiles.context(tls)
    }

    /// The name sent in SNI and checked against the certificate; nil for an IP address, which is
    /// checked against the certificate's IP addresses instead.
    /// - Parameter host: the host connected to.
    /// - Returns: the name, or nil for an IP address.
    public func expectedServerName(host: String) -> String? {
        let name = serverName ?? host
        return Self.isIPAddress(name) ? nil : name
    }

    private static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}
