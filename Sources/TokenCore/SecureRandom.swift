import COpenSSL

/// Cryptographically secure random bytes from libcrypto's `RAND_bytes`.
public enum SecureRandom {
    /// Returns `count` random bytes.
    /// - Parameter count: How many bytes, 0 or more.
    /// - Returns: The bytes.
    /// - Throws: `TokenError.invalidArgument` for a negative count, `TokenError.randomFailure` when the
    ///   generator fails.
    public static func bytes(_ count: Int) throws(TokenError) -> [UInt8] {
        guard count >= 0, let length = Int32(exactly: count) else {
            throw .invalidArgument("random byte count \(count)")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, length) }
        guard status == 1 else {
            ERR_clear_error()
            throw .randomFailure
        }
        return bytes
    }
}
