import COpenSSL
import Synchronization

/// Owns one libcrypto `EVP_PKEY` (Ed25519 or P-256) and a small pool of contexts ready to sign or
/// verify with it, so a token never pays for a fresh context. All of the engine's `EVP_PKEY` calls
/// live in this file.
///
/// `@unchecked Sendable`: the key is never modified after creation, and OpenSSL 3 allows concurrent
/// use of one `EVP_PKEY` from many threads; each context is used by one thread at a time, handed
/// out and taken back under the pool's `Mutex`.
final class EVPKey: @unchecked Sendable {
    /// A context pointer owned by the pool while it sits there.
    private struct Context: @unchecked Sendable {
        // Only ever touched by the one thread that took it out of the pool.
        let pointer: OpaquePointer
    }

    private enum Operation {
        case sign
        case verify
    }

    /// How many idle contexts of each kind are kept (more are freed when returned).
    private static let maxPooledContexts = 16

    let pointer: OpaquePointer
    let algorithm: TokenAlgorithm
    let hasPrivateKey: Bool
    private let signContexts = Mutex<[Context]>([])
    private let verifyContexts = Mutex<[Context]>([])

    /// Takes ownership of `pointer` after checking that it is an Ed25519 or P-256 key.
    private init(taking pointer: OpaquePointer, hasPrivateKey: Bool) throws(TokenError) {
        switch EVP_PKEY_get_base_id(pointer) {
        case EVP_PKEY_ED25519:
            self.algorithm = .edDSA
        case EVP_PKEY_EC where Self.groupName(of: pointer) == "prime256v1":
            self.algorithm = .es256
        default:
            EVP_PKEY_free(pointer)
            throw .unsupportedKey
        }
        self.pointer = pointer
        self.hasPrivateKey = hasPrivateKey
    }

    deinit {
        for context in signContexts.withLock({ $0 }) + verifyContexts.withLock({ $0 }) {
            freeContext(context.pointer)
        }
        EVP_PKEY_free(pointer)
    }

    private static func groupName(of pointer: OpaquePointer) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1, length < name.count else {
            return nil
        }
        return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Creating keys

    /// Generates a fresh private key.
    static func generate(_ algorithm: TokenAlgorithm) throws(TokenError) -> EVPKey {
        let context: OpaquePointer?
        switch algorithm {
        case .edDSA: context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil)
        case .es256: context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        }
        guard let context else { throw .cryptoFailure("key generation context") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw failure("key generation init") }
        if algorithm == .es256 {
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { throw failure("P-256 group") }
        }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen(context, &key) == 1, let key else { throw failure("key generation") }
        return try EVPKey(taking: key, hasPrivateKey: true)
    }

    /// Decodes a private key from PKCS#8 DER (the whole input must be one structure).
    static func privateKey(pkcs8DER der: [UInt8]) throws(TokenError) -> EVPKey {
        guard !der.isEmpty else { throw .invalidKey("empty PKCS#8") }
        let info: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            let info = d2i_PKCS8_PRIV_KEY_INFO(nil, &cursor, buffer.count)
            guard let info, let cursor, let base = buffer.baseAddress, cursor - base == buffer.count else {
                if let info { PKCS8_PRIV_KEY_INFO_free(info) }
                return nil
            }
            return info
        }
        guard let info else { throw failure("not a PKCS#8 private key", invalidKey: true) }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else { throw failure("unusable PKCS#8 private key", invalidKey: true) }
        return try EVPKey(taking: key, hasPrivateKey: true)
    }

    /// Decodes a public key from SubjectPublicKeyInfo DER (the whole input must be one structure).
    static func publicKey(spkiDER der: [UInt8]) throws(TokenError) -> EVPKey {
        guard !der.isEmpty else { throw .invalidKey("empty public key") }
        let key: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            let key = d2i_PUBKEY(nil, &cursor, buffer.count)
            guard let key, let cursor, let base = buffer.baseAddress, cursor - base == buffer.count else {
                if let key { EVP_PKEY_free(key) }
                return nil
            }
            return key
        }
        guard let key else { throw failure("not a SubjectPublicKeyInfo", invalidKey: true) }
        return try EVPKey(taking: key, hasPrivateKey: false)
    }

    /// An Ed25519 private key from its 32-byte seed (the JWK `d`).
    static func ed25519PrivateKey(seed: [UInt8]) throws(TokenError) -> EVPKey {
        guard seed.count == 32 else { throw .invalidKey("Ed25519 private key must be 32 bytes") }
        let key = seed.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }
        guard let key else { throw failure("Ed25519 private key", invalidKey: true) }
        return try EVPKey(taking: key, hasPrivateKey: true)
    }

    // MARK: Exporting keys

    /// The public key as SubjectPublicKeyInfo DER.
    func spkiDER() throws(TokenError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pointer, &output)
        guard length > 0, let output else { throw Self.failure("public key encoding") }
        defer { COpenSSL_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    /// The private key as PKCS#8 DER.
    func pkcs8DER() throws(TokenError) -> [UInt8] {
        guard hasPrivateKey, let info = EVP_PKEY2PKCS8(pointer) else { throw Self.failure("PKCS#8 encoding") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        var output: UnsafeMutablePointer<UInt8>?
        let length = i2d_PKCS8_PRIV_KEY_INFO(info, &output)
        guard length > 0, let output else { throw Self.failure("PKCS#8 encoding") }
        defer {
            OPENSSL_cleanse(output, Int(length))
            COpenSSL_free(output)
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    /// The raw public key: 32 bytes for Ed25519, the uncompressed point `04‖X‖Y` (65 bytes) for P-256.
    func rawPublicKey() throws(TokenError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 65)
        var length = 0
        let status: Int32
        switch algorithm {
        case .edDSA:
            length = 32
            status = EVP_PKEY_get_raw_public_key(pointer, &bytes, &length)
        case .es256:
            status = EVP_PKEY_get_octet_string_param(
                pointer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, &bytes, bytes.count, &length)
        }
        guard status == 1, length <= bytes.count else { throw Self.failure("raw public key") }
        return Array(bytes.prefix(length))
    }

    // MARK: Signing and verifying

    /// Signs `message`; ES256 signatures come back as raw R‖S.
    func sign(_ message: some Collection<UInt8>) throws(TokenError) -> [UInt8] {
        let result =
            message.withContiguousStorageIfAvailable { buffer in
                Result { () throws(TokenError) in try sign(buffer: buffer) }
            }
            ?? Array(message).withUnsafeBufferPointer { buffer in
                Result { () throws(TokenError) in try sign(buffer: buffer) }
            }
        return try result.get()
    }

    /// Verifies a wire signature (ES256: raw R‖S, converted and range-checked here).
    func verify(signature: [UInt8], message: some Collection<UInt8>) -> Bool {
        signature.withUnsafeBufferPointer { signatureBuffer in
            message.withContiguousStorageIfAvailable { verify(signature: signatureBuffer, message: $0) }
                ?? Array(message).withUnsafeBufferPointer { verify(signature: signatureBuffer, message: $0) }
        }
    }

    private func sign(buffer message: UnsafeBufferPointer<UInt8>) throws(TokenError) -> [UInt8] {
        guard hasPrivateKey else { throw .invalidKey("a public key cannot sign") }
        let context = try takeContext(.sign)
        var output = [UInt8](repeating: 0, count: 80)
        var length = output.count
        let status: Int32
        switch algorithm {
        case .edDSA:
            status = EVP_DigestSign(context.pointer, &output, &length, message.baseAddress, message.count)
        case .es256:
            let digest = SHA256.digestOf(message)
            status = EVP_PKEY_sign(context.pointer, &output, &length, digest, digest.count)
        }
        guard status == 1, length <= output.count else {
            freeContext(context.pointer)
            throw Self.failure("signing")
        }
        giveBack(context, .sign)
        switch algorithm {
        case .edDSA:
            return Array(output.prefix(length))
        case .es256:
            guard let raw = ECDSASignature.raw(fromDER: output.prefix(length)) else {
                throw .cryptoFailure("signature form")
            }
            return raw
        }
    }

    private func verify(signature: UnsafeBufferPointer<UInt8>, message: UnsafeBufferPointer<UInt8>) -> Bool {
        guard signature.count == algorithm.signatureLength else { return false }
        guard let context = try? takeContext(.verify) else { return false }
        let status: Int32
        switch algorithm {
        case .edDSA:
            status = EVP_DigestVerify(
                context.pointer, signature.baseAddress, signature.count, message.baseAddress, message.count)
        case .es256:
            guard let der = ECDSASignature.der(fromRaw: signature) else {
                giveBack(context, .verify)
                return false
            }
            let digest = SHA256.digestOf(message)
            status = EVP_PKEY_verify(context.pointer, der, der.count, digest, digest.count)
        }
        if status != 1 { ERR_clear_error() }
        // A failed verification leaves the context reusable: nothing in it depends on the input.
        giveBack(context, .verify)
        return status == 1
    }

    private func takeContext(_ operation: Operation) throws(TokenError) -> Context {
        let pooled =
            operation == .sign
            ? signContexts.withLock { $0.popLast() }
            : verifyContexts.withLock { $0.popLast() }
        if let pooled { return pooled }
        return try makeContext(operation)
    }

    private func giveBack(_ context: Context, _ operation: Operation) {
        guard algorithm == .es256 || Self.oneShotContextsAreReusable else {
            freeContext(context.pointer)
            return
        }
        let kept =
            operation == .sign
            ? signContexts.withLock { pool in Self.keep(context, in: &pool) }
            : verifyContexts.withLock { pool in Self.keep(context, in: &pool) }
        if !kept { freeContext(context.pointer) }
    }

    /// Whether this libcrypto lets an Ed25519 context sign or verify again after a one-shot call.
    /// OpenSSL 3.0 does (as `openssl speed` relies on); should a version refuse, Ed25519 contexts are
    /// not pooled and each operation gets a fresh one.
    private static let oneShotContextsAreReusable: Bool = {
        guard let generator = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { return false }
        defer { EVP_PKEY_CTX_free(generator) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(generator) == 1, EVP_PKEY_keygen(generator, &key) == 1, let key else {
            ERR_clear_error()
            return false
        }
        defer { EVP_PKEY_free(key) }
        guard let signer = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(signer) }
        guard let verifier = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(verifier) }
        let message: [UInt8] = [1, 2, 3]
        var signature = [UInt8](repeating: 0, count: 64)
        var length = signature.count
        let reusable =
            EVP_DigestSignInit(signer, nil, nil, nil, key) == 1
            && EVP_DigestSign(signer, &signature, &length, message, message.count) == 1
            && EVP_DigestSign(signer, &signature, &length, message, message.count) == 1
            && EVP_DigestVerifyInit(verifier, nil, nil, nil, key) == 1
            && EVP_DigestVerify(verifier, signature, length, message, message.count) == 1
            && EVP_DigestVerify(verifier, signature, length, message, message.count) == 1
        ERR_clear_error()
        return reusable
    }()

    private static func keep(_ context: Context, in pool: inout [Context]) -> Bool {
        guard pool.count < maxPooledContexts else { return false }
        pool.append(context)
        return true
    }

    private func makeContext(_ operation: Operation) throws(TokenError) -> Context {
        switch algorithm {
        case .edDSA:
            guard let context = EVP_MD_CTX_new() else { throw .cryptoFailure("digest context") }
            let status =
                operation == .sign
                ? EVP_DigestSignInit(context, nil, nil, nil, pointer)
                : EVP_DigestVerifyInit(context, nil, nil, nil, pointer)
            guard status == 1 else {
                EVP_MD_CTX_free(context)
                throw Self.failure("Ed25519 context")
            }
            return Context(pointer: context)
        case .es256:
            guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
                throw .cryptoFailure("key context")
            }
            let status = operation == .sign ? EVP_PKEY_sign_init(context) : EVP_PKEY_verify_init(context)
            guard status == 1 else {
                EVP_PKEY_CTX_free(context)
                throw Self.failure("ECDSA context")
            }
            return Context(pointer: context)
        }
    }

    private func freeContext(_ context: OpaquePointer) {
        switch algorithm {
        case .edDSA: EVP_MD_CTX_free(context)
        case .es256: EVP_PKEY_CTX_free(context)
        }
    }

    /// Clears libcrypto's error queue and returns the error to throw.
    private static func failure(_ operation: String, invalidKey: Bool = false) -> TokenError {
        ERR_clear_error()
        return invalidKey ? .invalidKey(operation) : .cryptoFailure(operation)
    }
}
