import COpenSSL

/// AES-256-GCM sealing (for private keys kept in a shared store). The sealed form is
/// nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes), with a fresh random nonce each time.
public enum AESGCM {
    /// The key length in bytes.
    public static let keyLength = 32
    private static let nonceLength = 12
    private static let tagLength = 16
    /// The largest plaintext sealed or opened, in bytes.
    public static let maxPlaintextLength = 1 << 20

    /// Encrypts and authenticates.
    /// - Parameters:
    ///   - key: 32 bytes.
    ///   - plaintext: The secret, at most `maxPlaintextLength` bytes.
    ///   - associatedData: Bytes authenticated but not encrypted (for instance the key id).
    /// - Returns: nonce ‖ ciphertext ‖ tag.
    /// - Throws: `TokenError.invalidArgument` for a bad key or size, `TokenError.randomFailure` or
    ///   `TokenError.cryptoFailure` when libcrypto fails.
    public static func seal(
        key: [UInt8], plaintext: [UInt8], associatedData: [UInt8] = []
    ) throws(TokenError)
        -> [UInt8]
    {
        guard plaintext.count <= maxPlaintextLength else { throw .invalidArgument("plaintext too long") }
        let nonce = try SecureRandom.bytes(nonceLength)
        let context = try CipherContext(key: key, nonce: nonce, encrypting: true)
        try context.authenticate(associatedData)
        let ciphertext = try context.update(plaintext)
        try context.finish()
        return nonce + ciphertext + (try context.tag())
    }

    /// Authenticates and decrypts.
    /// - Parameters:
    ///   - key: The 32-byte key it was sealed with.
    ///   - sealed: nonce ‖ ciphertext ‖ tag.
    ///   - associatedData: The associated data it was sealed with.
    /// - Returns: The plaintext.
    /// - Throws: `TokenError.authenticationFailed` for wrong key, data or tampering (or a sealed form
    ///   too short), `TokenError.invalidArgument` for a bad key.
    public static func open(
        key: [UInt8], sealed: [UInt8], associatedData: [UInt8] = []
    ) throws(TokenError)
        -> [UInt8]
    {
        guard sealed.count >= nonceLength + tagLength else { throw .authenticationFailed }
        guard sealed.count - nonceLength - tagLength <= maxPlaintextLength else {
            throw .invalidArgument("sealed data too long")
        }
        let nonce = Array(sealed[..<nonceLength])
        let ciphertext = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        let tag = Array(sealed[(sealed.count - tagLength)...])
        let context = try CipherContext(key: key, nonce: nonce, encrypting: false)
        try context.authenticate(associatedData)
        var plaintext = try context.update(ciphertext)
        try context.setTag(tag)
        do {
            try context.finish()
        } catch {
            plaintext.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            throw .authenticationFailed
        }
        return plaintext
    }
}

/// One `EVP_CIPHER_CTX` for one AES-256-GCM operation, freed with its owner.
private final class CipherContext {
    private let pointer: OpaquePointer

    init(key: [UInt8], nonce: [UInt8], encrypting: Bool) throws(TokenError) {
        guard key.count == AESGCM.keyLength else { throw .invalidArgument("AES-256-GCM key must be 32 bytes") }
        guard let pointer = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("cipher context") }
        self.pointer = pointer
        let status = key.withUnsafeBufferPointer { keyBuffer in
            nonce.withUnsafeBufferPointer { nonceBuffer in
                EVP_CipherInit_ex2(
                    pointer, EVPAlgorithms.aes256GCM, keyBuffer.baseAddress, nonceBuffer.baseAddress,
                    encrypting ? 1 : 0, nil)
            }
        }
        guard status == 1 else { throw Self.failure("AES-256-GCM init") }
    }

    deinit {
        EVP_CIPHER_CTX_free(pointer)
    }

    func authenticate(_ associatedData: [UInt8]) throws(TokenError) {
        guard !associatedData.isEmpty else { return }
        var length: Int32 = 0
        let status = associatedData.withUnsafeBufferPointer {
            EVP_CipherUpdate(pointer, nil, &length, $0.baseAddress, Int32($0.count))
        }
        guard status == 1 else { throw Self.failure("AES-256-GCM associated data") }
    }

    func update(_ input: [UInt8]) throws(TokenError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var length: Int32 = 0
        guard !input.isEmpty else { return [] }
        let status = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                EVP_CipherUpdate(pointer, outBuffer.baseAddress, &length, inBuffer.baseAddress, Int32(inBuffer.count))
            }
        }
        guard status == 1, length >= 0, Int(length) <= output.count else { throw Self.failure("AES-256-GCM update") }
        return Array(output.prefix(Int(length)))
    }

    func finish() throws(TokenError) {
        var buffer = [UInt8](repeating: 0, count: 16)
        var length: Int32 = 0
        guard EVP_CipherFinal_ex(pointer, &buffer, &length) == 1, length == 0 else {
            throw Self.failure("AES-256-GCM final")
        }
    }

    func tag() throws(TokenError) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: 16)
        guard EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_GET_TAG, Int32(tag.count), &tag) == 1 else {
            throw Self.failure("AES-256-GCM tag")
        }
        return tag
    }

    func setTag(_ tag: [UInt8]) throws(TokenError) {
        var tag = tag
        guard EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_SET_TAG, Int32(tag.count), &tag) == 1 else {
            throw Self.failure("AES-256-GCM tag")
        }
    }

    private static func failure(_ operation: String) -> TokenError {
        ERR_clear_error()
        return .cryptoFailure(operation)
    }
}
