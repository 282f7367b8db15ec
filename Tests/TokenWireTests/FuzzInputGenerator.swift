import TokenTestSupport

/// Makes random and mutated byte strings for decoder tests, reproducibly from a seed.
///
/// Half of the inputs are mutations of valid serializations (bit flips, truncations, insertions,
/// deletions, splices, duplicated chunks, boundary bytes); the rest are random protobuf-shaped fields
/// (valid and invalid tags, wire types, varints and lengths) or plain random bytes.
struct FuzzInputGenerator {
    private var random: SeededRandom
    /// Serializations of valid messages of every type, for splicing and nesting.
    private let pool: [[UInt8]]

    init(seed: UInt64, pool: [[UInt8]]) {
        self.random = SeededRandom(seed: seed)
        self.pool = pool.filter { !$0.isEmpty }
    }

    /// The next input, derived from one of `samples`.
    mutating func next(from samples: [[UInt8]]) -> [UInt8] {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<5:
            var bytes = samples[Int.random(in: 0..<samples.count, using: &random)]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                mutate(&bytes)
            }
            return bytes
        case 5..<9:
            return fields(count: Int.random(in: 1...6, using: &random))
        default:
            return random.bytes(count: Int.random(in: 0...48, using: &random))
        }
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let position = Int.random(in: 0...bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1:
            bytes.removeLast(bytes.count - position)
        case 2:
            bytes.insert(contentsOf: random.bytes(count: Int.random(in: 1...8, using: &random)), at: position)
        case 3:
            let end = Int.random(in: position...bytes.count, using: &random)
            bytes.removeSubrange(position..<end)
        case 4:
            let other = pool.randomElement(using: &random) ?? []
            bytes = Array(bytes[..<position]) + other[Int.random(in: 0...other.count, using: &random)...]
        case 5:
            let end = Int.random(in: position...bytes.count, using: &random)
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        default:
            let boundary: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1A, 0x08, 0x0F]
            let value = boundary.randomElement(using: &random) ?? 0
            if position < bytes.count { bytes[position] = value } else { bytes.append(value) }
        }
    }

    /// Protobuf-shaped fields: mostly well-formed, with field numbers of the contract's messages.
    private mutating func fields(count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<count {
            let number = UInt64.random(in: 0...11, using: &random)
            let wireType = [0, 0, 1, 2, 2, 2, 2, 5, 3, 4, 6, 7].randomElement(using: &random) ?? 0
            appendVarint(number << 3 | UInt64(wireType), to: &bytes)
            switch wireType {
            case 0:
                appendVarint(randomVarintValue(), to: &bytes)
            case 1:
                bytes += random.bytes(count: 8)
            case 5:
                bytes += random.bytes(count: 4)
            case 2:
                let content = lengthDelimitedContent()
                let length =
                    Int.random(in: 0..<8, using: &random) == 0
                    ? randomVarintValue() : UInt64(content.count)
                appendVarint(length, to: &bytes)
                bytes += content
            default:
                break
            }
        }
        return bytes
    }

    private mutating func lengthDelimitedContent() -> [UInt8] {
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            let text = ["", "a", "usér", "✓ ok", "k1", "EdDSA"].randomElement(using: &random) ?? ""
            return Array(text.utf8)
        case 1:
            return pool.randomElement(using: &random) ?? []
        case 2:
            return fields(count: Int.random(in: 0...2, using: &random))
        default:
            return random.bytes(count: Int.random(in: 0...12, using: &random))
        }
    }

    private mutating func randomVarintValue() -> UInt64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: UInt64.random(in: 0...3, using: &random)
        case 1: UInt64.random(in: 0...300, using: &random)
        case 2:
            [UInt64(Int32.max), UInt64(UInt32.max), UInt64.max, 1 << 31, 1 << 63].randomElement(using: &random) ?? 0
        default: random.next()
        }
    }

    private func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}
