/// Converts P-256 ECDSA signatures between the JOSE form (raw R‖S, 32 bytes each, RFC 7518 §3.4)
/// and the DER form libcrypto speaks, rejecting values outside 1..<n.
enum ECDSASignature {
    /// The order n of the P-256 group, big-endian.
    private static let order: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]
    private static let scalarLength = 32

    /// DER `ECDSA-Sig-Value` for a raw R‖S signature; nil unless it is 64 bytes with 0 < r, s < n.
    static func der(fromRaw raw: some RandomAccessCollection<UInt8>) -> [UInt8]? {
        guard raw.count == 2 * scalarLength else { return nil }
        let bytes = Array(raw)
        guard isInRange(bytes, from: 0), isInRange(bytes, from: scalarLength) else { return nil }
        var der: [UInt8] = [0x30, 0]
        der.reserveCapacity(72)
        appendInteger(bytes, from: 0, to: &der)
        appendInteger(bytes, from: scalarLength, to: &der)
        der[1] = UInt8(der.count - 2)
        return der
    }

    /// Raw R‖S for a DER `ECDSA-Sig-Value`; nil when the DER is not a well-formed P-256 signature.
    static func raw(fromDER der: ArraySlice<UInt8>) -> [UInt8]? {
        var index = der.startIndex
        guard der.count >= 2, der[index] == 0x30, der[index + 1] < 0x80, Int(der[index + 1]) == der.count - 2 else {
            return nil
        }
        index += 2
        var raw = [UInt8](repeating: 0, count: 2 * scalarLength)
        guard readScalar(der, at: &index, into: &raw, offset: 0),
            readScalar(der, at: &index, into: &raw, offset: scalarLength),
            index == der.endIndex
        else {
            return nil
        }
        return raw
    }

    /// 0 < value < n for the 32-byte big-endian value at `start`.
    private static func isInRange(_ bytes: [UInt8], from start: Int) -> Bool {
        var isZero = true
        var comparison = 0  // 0 equal so far, -1 below n, 1 above n
        for offset in 0..<scalarLength {
            let byte = bytes[start + offset]
            if byte != 0 { isZero = false }
            if comparison == 0, byte != order[offset] {
                comparison = byte < order[offset] ? -1 : 1
            }
        }
        return !isZero && comparison == -1
    }

    /// Appends a DER INTEGER holding the unsigned 32-byte big-endian value at `start`.
    private static func appendInteger(_ bytes: [UInt8], from start: Int, to der: inout [UInt8]) {
        var first = start
        let end = start + scalarLength
        while first < end - 1, bytes[first] == 0 { first += 1 }
        let needsZero = bytes[first] & 0x80 != 0
        der.append(0x02)
        der.append(UInt8(end - first + (needsZero ? 1 : 0)))
        if needsZero { der.append(0) }
        der.append(contentsOf: bytes[first..<end])
    }

    /// Reads one positive DER INTEGER of at most 32 significant bytes into `raw` at `offset`,
    /// right-aligned.
    private static func readScalar(
        _ der: ArraySlice<UInt8>, at index: inout Int, into raw: inout [UInt8], offset: Int
    )
        -> Bool
    {
        guard der.endIndex - index >= 2, der[index] == 0x02 else { return false }
        let length = Int(der[index + 1])
        index += 2
        guard length > 0, length < 0x80, der.endIndex - index >= length else { return false }
        var start = index
        let end = index + length
        index = end
        guard der[start] & 0x80 == 0 else { return false }
        if der[start] == 0, end - start > 1 { start += 1 }
        guard end - start <= scalarLength else { return false }
        var target = offset + scalarLength - (end - start)
        for position in start..<end {
            raw[target] = der[position]
            target += 1
        }
        return true
    }
}
