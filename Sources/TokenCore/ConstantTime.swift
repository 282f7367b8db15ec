import COpenSSL

/// Compares two secrets in time independent of their contents (`CRYPTO_memcmp`).
///
/// Different lengths compare unequal at once: lengths are not secret.
/// - Parameters:
///   - a: One secret.
///   - b: The other.
/// - Returns: True when both hold the same bytes.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in constantTimeEquals(left, right) }
    }
}

/// Compares two secret strings (an API key, say) by their UTF-8 bytes, like the byte-array form.
/// - Parameters:
///   - a: One secret.
///   - b: The other.
/// - Returns: True when both hold the same UTF-8 bytes.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { left in
        b.withUTF8 { right in constantTimeEquals(UnsafeRawBufferPointer(left), UnsafeRawBufferPointer(right)) }
    }
}

private func constantTimeEquals(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
    guard left.count == right.count else { return false }
    guard let leftBase = left.baseAddress, let rightBase = right.baseAddress, left.count > 0 else { return true }
    return CRYPTO_memcmp(leftBase, rightBase, left.count) == 0
}
