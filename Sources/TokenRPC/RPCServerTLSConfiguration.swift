import NIOSSL

/// TLS on an `RPCServer`'s port: the server's certificate chain and key, and optionally the CA that
/// must have signed every client's certificate (mutual TLS).
///
/// The files are read when the server starts and again on `RPCServer.reloadTLS()`; TLS 1.2 is the
/// oldest version accepted.
public struct RPCServerTLSConfiguration: Sendable, Hashable {
    /// The server's certificate chain, PEM, leaf first.
    public var certificateChainFile: String
    /// The server's private key, PEM.
    public var privateKeyFile: String
    /// PEM certificates of the CAs that sign client certificates; nil accepts clients without one.
    public var clientCAFile: String?

    /// Creates a configuration.
    /// - Parameters:
    ///   - certificateChainFile: the server's certificate chain, PEM, leaf first.
    ///   - privateKeyFile: the server's private key, PEM.
    ///   - clientCAFile: the CAs whose certificates clients must present; nil for no client certificates.
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }

    /// Reads the files and checks that they make a usable TLS configuration, as the server does when
    /// it starts.
    /// - Throws: `RPCConfigurationError` naming the file that is unreadable or not what it should be.
    public func checkFiles() throws(RPCConfigurationError) {
        _ = try makeContext()
    }

    /// Reads the files and makes the context new connections use.
    /// - Returns: the context.
    /// - Throws: `RPCConfigurationError.invalidTLSFile` when a file cannot be read or does not hold
    ///   what it should, `RPCConfigurationError.invalidTLSConfiguration` when the key does not match.
    func makeContext() throws(RPCConfigurationError) -> NIOSSLContext {
        let chain = try TLSFiles.certificates(certificateChainFile)
        let key = try TLSFiles.privateKey(privateKeyFile)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .certificates(try TLSFiles.certificates(clientCAFile))
            tls.certificateVerification = .noHostnameVerification
        } else {
            tls.certificateVerification = .none
        }
        return try TLSFiles.context(tls)
    }
}

/// Loading of PEM files for TLS, with errors that name the file.
enum TLSFiles {
    /// The largest PEM file read.
    static let maxFileBytes = 1 << 20

    static func certificates(_ path: String) throws(RPCConfigurationError) -> [NIOSSLCertificate] {
        let bytes = try read(path)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw .invalidTLSFile(path, reason: "not PEM certificates (\(error))")
        }
        guard !certificates.isEmpty else {
            throw .invalidTLSFile(path, reason: "no certificate in it")
        }
        return certificates
    }

    static func privateKey(_ path: String) throws(RPCConfigurationError) -> NIOSSLPrivateKey {
        let bytes = try read(path)
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            // The error says nothing of the key's bytes.
            throw .invalidTLSFile(path, reason: "not a PEM private key")
        }
    }

    static func context(_ configuration: TLSConfiguration) throws(RPCConfigurationError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidTLSConfiguration("\(error)")
        }
    }

    private static func read(_ path: String) throws(RPCConfigurationError) -> [UInt8] {
        try CallerRegistry.readFile(path, limit: maxFileBytes)
    }
}
