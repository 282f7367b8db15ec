import COpenSSL

/// Algorithm implementations fetched from the default provider once, so no hot path pays for an
/// implicit fetch.
enum EVPAlgorithms {
    /// SHA-256. `EVP_MD` objects are immutable and shareable across threads once fetched; the pointer
    /// lives for the life of the process.
    nonisolated(unsafe) static let sha256: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

    /// AES-256-GCM, shared the same way.
    nonisolated(unsafe) static let aes256GCM: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
}
