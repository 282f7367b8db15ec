import Foundation

/// A throwaway certificate authority for TLS tests, made with the `openssl` command-line tool: P-256
/// keys, certificates valid for two days.
public struct TestCertificateAuthority: Sendable {
    /// A certificate and its private key, both PEM files.
    public struct Issued: Sendable {
        /// The certificate, PEM.
        public let certificateFile: String
        /// Its private key, PEM (PKCS#8).
        public let privateKeyFile: String
    }

    /// The CA's certificate, PEM: the file clients and servers trust.
    public let certificateFile: String
    private let privateKeyFile: String
    private let directory: String

    /// Makes a new CA whose files are `name`-ca.pem and `name`-ca.key in `directory`.
    /// - Parameters:
    ///   - name: the CA's file prefix and common name.
    ///   - directory: an existing directory.
    /// - Returns: the CA.
    /// - Throws: when `openssl` fails.
    public static func make(named name: String, in directory: String) throws -> Self {
        let certificate = "\(directory)/\(name)-ca.pem"
        let key = "\(directory)/\(name)-ca.key"
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(name) test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        return Self(certificateFile: certificate, privateKeyFile: key, directory: directory)
    }

    /// Issues a certificate signed by this CA, by default for `localhost` and 127.0.0.1.
    /// - Parameters:
    ///   - name: the file prefix and common name.
    ///   - client: true for a client certificate, false for a server certificate.
    ///   - alternativeNames: the subject alternative names, e.g. `DNS:localhost`, `IP:127.0.0.1`.
    /// - Returns: the certificate and key files.
    /// - Throws: when `openssl` fails.
    public func issue(
        _ name: String,
        client: Bool = false,
        alternativeNames: [String] = ["DNS:localhost", "IP:127.0.0.1"]
    ) throws -> Issued {
        let certificate = "\(directory)/\(name).pem"
        let key = "\(directory)/\(name).key"
        let request = "\(directory)/\(name).csr"
        let extensions = "\(directory)/\(name).ext"
        let usage = client ? "clientAuth" : "serverAuth"
        let text = """
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=\(usage)
            subjectAltName=\(alternativeNames.joined(separator: ","))

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: extensions))
        try Self.openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", request, "-subj", "/CN=\(name)",
        ])
        try Self.openssl([
            "x509", "-req", "-in", request, "-CA", certificateFile, "-CAkey", privateKeyFile,
            "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "2", "-extfile", extensions,
            "-out", certificate,
        ])
        return Issued(certificateFile: certificate, privateKeyFile: key)
    }

    private static func openssl(_ arguments: [String]) throws {
        let run = try CapturedRun.run("/usr/bin/env", ["openssl"] + arguments)
        guard run.status == 0 else {
            throw TestCertificateError(message: "openssl \(arguments.first ?? ""): \(run.output)")
        }
    }
}

/// `openssl` failed.
public struct TestCertificateError: Error, CustomStringConvertible {
    /// What it printed.
    public let message: String
    /// The message.
    public var description: String { message }
}
