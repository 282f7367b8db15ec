import COpenSSL

/// SHA-256 through libcrypto's EVP interface.
public enum SHA256 {
    /// The digest length in bytes.
    public static let digestLength = 32

    /// Hashes bytes.
    /// - Parameter bytes: The input.
    /// - Returns: The 32-byte digest.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable({ digestOf($0) }) {
            return digest
        }
        return Array(bytes).withUnsafeBufferPointer { digestOf($0) }
    }

    /// The digest of a contiguous buffer (the engine's hot path: no copy).
    static func digestOf(_ buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestLength)
        var length: UInt32 = 0
        let status = digest.withUnsafeMutableBufferPointer { out in
            EVP_Digest(buffer.baseAddress, buffer.count, out.baseAddress, &length, EVPAlgorithms.sha256, nil)
        }
        // EVP_Digest fails only when it cannot allocate its context; Swift traps on out-of-memory
        // everywhere else, so this is no new failure mode.
        precondition(status == 1 && length == 32, "libcrypto SHA-256 failed")
        return digest
    }
}
