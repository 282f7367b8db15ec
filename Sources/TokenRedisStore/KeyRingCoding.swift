import NIOCore
import TokenStore

/// The key ring's plaintext before sealing: a version byte, a key count (u16), then per key its
/// id, algorithm, state (each u16 length + UTF-8), not-before and not-after (i64) and PKCS#8
/// (u32 length + DER). Big-endian throughout.
enum KeyRingCoding {
    private static let version: UInt8 = 1

    static func encode(_ keys: [StoredSigningKey]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        buffer.writeInteger(UInt16(clamping: keys.count))
        for key in keys {
            for text in [key.keyID, key.algorithm, key.state] {
                buffer.writeInteger(UInt16(clamping: text.utf8.count))
                buffer.writeString(text)
            }
            buffer.writeInteger(key.notBefore)
            buffer.writeInteger(key.notAfter)
            buffer.writeInteger(UInt32(clamping: key.privateKeyPKCS8.count))
            buffer.writeBytes(key.privateKeyPKCS8)
        }
        return Array(buffer.readableBytesView)
    }

    static func decode(_ bytes: [UInt8]) throws(TokenStoreError) -> [StoredSigningKey] {
        var buffer = ByteBuffer(bytes: bytes)
        guard buffer.readInteger(as: UInt8.self) == version, let count = buffer.readInteger(as: UInt16.self),
            count <= StoredSigningKey.maxRingSize
        else { throw .corrupt("the key ring has an unknown format") }
        var keys: [StoredSigningKey] = []
        for _ in 0..<count {
            var texts: [String] = []
            for _ in 0..<3 {
                guard let length = buffer.readInteger(as: UInt16.self),
                    let text = buffer.readString(length: Int(length))
                else { throw .corrupt("the key ring is truncated") }
                texts.append(text)
            }
            guard let notBefore = buffer.readInteger(as: Int64.self), let notAfter = buffer.readInteger(as: Int64.self),
                let length = buffer.readInteger(as: UInt32.self), length <= 16_384,
                let der = buffer.readBytes(length: Int(length))
            else { throw .corrupt("the key ring is truncated") }
            keys.append(
                StoredSigningKey(
                    keyID: texts[0], algorithm: texts[1], state: texts[2], notBefore: notBefore, notAfter: notAfter,
                    privateKeyPKCS8: der))
        }
        guard buffer.readableBytes == 0 else { throw .corrupt("the key ring has trailing bytes") }
        return keys
    }
}
