import Foundation

/// Two unrelated certificate authorities in a fresh directory, with a server certificate and a
/// client certificate from each: what a TLS test needs to try a trusted and a foreign peer.
public struct TestCertificates: Sendable {
    public let directory: String
    public let one: TestCertificateAuthority
    public let two: TestCertificateAuthority
    public let serverOne: TestCertificateAuthority.Issued
    public let serverTwo: TestCertificateAuthority.Issued
    public let clientOne: TestCertificateAuthority.Issued
    public let clientTwo: TestCertificateAuthority.Issued

    /// Makes them (with `openssl`) in a new temporary directory, or in `directory`.
    public init(in directory: String? = nil) throws {
        self.directory = try directory ?? TemporaryDirectory.make(prefix: "tls")
        one = try TestCertificateAuthority.make(named: "one", in: self.directory)
        two = try TestCertificateAuthority.make(named: "two", in: self.directory)
        serverOne = try one.issue("server-one")
        serverTwo = try two.issue("server-two")
        clientOne = try one.issue("client-one", client: true)
        clientTwo = try two.issue("client-two", client: true)
    }

    /// `tokend`'s flags for mutual TLS: `serverOne`, clients of `one` only.
    public var mutualTLSServerArguments: [String] {
        [
            "--tls-cert", serverOne.certificateFile, "--tls-key", serverOne.privateKeyFile,
            "--tls-client-ca", one.certificateFile,
        ]
    }

    /// A client's flags (`tokenctl`) for mutual TLS with such a server: trusting `one`, as `clientOne`.
    public var mutualTLSClientArguments: [String] {
        ["--tls-ca", one.certificateFile, "--tls-cert", clientOne.certificateFile, "--tls-key", clientOne.privateKeyFile]
    }

    /// Removes the directory.
    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
