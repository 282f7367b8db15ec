import COpenSSL
import TokenCore

/// The baseline: libcrypto signing and verifying the same bytes with one parsed key and one
/// context reused for every operation, the way `openssl speed` measures.
final class RawEVP {
    private struct BenchError: Error, CustomStringConvertible {
        let description: String
    }

    private let key: OpaquePointer
    private let algorithm: TokenAlgorithm
    private let message: [UInt8]
    private let signContext: OpaquePointer
    private let verifyContext: OpaquePointer
    private let sha256: OpaquePointer
    private var signature: [UInt8] = []

    init(pkcs8DER: [UInt8], algorithm: TokenAlgorithm, message: [UInt8]) throws {
        let parsed: OpaquePointer? = pkcs8DER.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw BenchError(description: "cannot read the key") }
        key = parsed
        guard let sha256 = EVP_MD_fetch(nil, "SHA256", nil) else { throw BenchError(description: "no SHA-256") }
        self.sha256 = sha256
        self.algorithm = algorithm
        self.message = message
        switch algorithm {
        case .edDSA:
            guard let sign = EVP_MD_CTX_new(), let verify = EVP_MD_CTX_new() else {
                throw BenchError(description: "no context")
            }
            signContext = sign
            verifyContext = verify
            guard EVP_DigestSignInit(sign, nil, nil, nil, key) == 1,
                EVP_DigestVerifyInit(verify, nil, nil, nil, key) == 1
            else { throw BenchError(description: "context init") }
        case .es256:
            guard let sign = EVP_PKEY_CTX_new_from_pkey(nil, key, nil),
                let verify = EVP_PKEY_CTX_new_from_pkey(nil, key, nil)
            else { throw BenchError(description: "no context") }
            signContext = sign
            verifyContext = verify
            guard EVP_PKEY_sign_init(sign) == 1, EVP_PKEY_verify_init(verify) == 1 else {
                throw BenchError(description: "context init")
            }
        }
        signature = try signOnce()
    }

    deinit {
        switch algorithm {
        case .edDSA:
            EVP_MD_CTX_free(signContext)
            EVP_MD_CTX_free(verifyContext)
        case .es256:
            EVP_PKEY_CTX_free(signContext)
            EVP_PKEY_CTX_free(verifyContext)
        }
        EVP_PKEY_free(key)
        EVP_MD_free(sha256)
    }

    /// A compact JWS's signing input (everything before its last `.`): what the baseline signs and
    /// verifies, so that it hashes as many bytes as the service does.
    static func signingInput(of token: String) -> [UInt8] {
        let bytes = Array(token.utf8)
        return Array(bytes[..<(bytes.lastIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex)])
    }

    /// One raw signature (ES256: hash, then sign the digest; the DER form OpenSSL returns).
    func sign() throws {
        _ = try signOnce()
    }

    /// One raw verification of the stored signature.
    func verify() throws {
        let status: Int32
        switch algorithm {
        case .edDSA:
            status = EVP_DigestVerify(verifyContext, signature, signature.count, message, message.count)
        case .es256:
            let digest = try digestOfMessage()
            status = EVP_PKEY_verify(verifyContext, signature, signature.count, digest, digest.count)
        }
        guard status == 1 else { throw BenchError(description: "raw verification failed") }
    }

    private func digestOfMessage() throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        guard EVP_Digest(message, message.count, &digest, nil, sha256, nil) == 1 else {
            throw BenchError(description: "digest failed")
        }
        return digest
    }

    private func signOnce() throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 80)
        var length = output.count
        let status: Int32
        switch algorithm {
        case .edDSA:
            status = EVP_DigestSign(signContext, &output, &length, message, message.count)
        case .es256:
            let digest = try digestOfMessage()
            status = EVP_PKEY_sign(signContext, &output, &length, digest, digest.count)
        }
        guard status == 1 else { throw BenchError(description: "raw signing failed") }
        return Array(output.prefix(length))
    }
}
