import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import TokenRPC

@testable import TokenRedisStore

@Suite("Redis reply decoder")
struct RedisReplyDecoderTests {
    private func channel(maxElements: Int = 1_000, maxReplyBytes: Int = 1 << 16) throws -> EmbeddedChannel {
        let decoder = try RedisReplyDecoder(maxElements: maxElements, maxReplyBytes: maxReplyBytes)
        return EmbeddedChannel(handler: ByteToMessageHandler(decoder))
    }

    private func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    @Test func everyReplyTypeDecodes() throws {
        let channel = try channel()
        let input = "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\0lo\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
        #expect(try channel.writeInbound(buffer(input)).isFull)
        #expect(try channel.readInbound(as: RedisValue.self) == .status("OK"))
        #expect(try channel.readInbound(as: RedisValue.self) == .error("ERR wrong"))
        #expect(try channel.readInbound(as: RedisValue.self) == .integer(-42))
        #expect(try channel.readInbound(as: RedisValue.self) == .bulk(Array("he\0lo".utf8)))
        #expect(try channel.readInbound(as: RedisValue.self) == .null)
        #expect(try channel.readInbound(as: RedisValue.self) == .null)
        #expect(try channel.readInbound(as: RedisValue.self) == .array([]))
        #expect(try channel.readInbound(as: RedisValue.self) == .bulk([]))
        #expect(try channel.readInbound(as: RedisValue.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func nestedArraysDecode() throws {
        let channel = try channel()
        let input = "*3\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$4\r\nkind\r\n$1\r\nt\r\n:7\r\n*1\r\n*1\r\n*0\r\n"
        #expect(try channel.writeInbound(buffer(input)).isFull)
        let expected = RedisValue.array([
            .array([.bulk(Array("1-0".utf8)), .array([.bulk(Array("kind".utf8)), .bulk(Array("t".utf8))])]),
            .integer(7),
            .array([.array([.array([])])]),
        ])
        let decoded = try channel.readInbound(as: RedisValue.self)
        #expect(decoded == expected)
        #expect(try channel.finish().isClean)
    }

    @Test func aReplyFragmentedIntoSingleBytesDecodesOnceComplete() throws {
        let channel = try channel()
        let input = Array("*2\r\n$11\r\nhello world\r\n:1\r\n+PONG\r\n".utf8)
        var replies: [RedisValue] = []
        for byte in input {
            _ = try channel.writeInbound(ByteBuffer(bytes: [byte]))
            while let reply = try channel.readInbound(as: RedisValue.self) {
                replies.append(reply)
            }
        }
        #expect(replies == [.array([.bulk(Array("hello world".utf8)), .integer(1)]), .status("PONG")])
        #expect(try channel.finish().isClean)
    }

    @Test func theVerifierAgreesOnEverySplit() throws {
        let input = "*2\r\n$3\r\nabc\r\n:5\r\n"
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                (input, [RedisValue.array([.bulk(Array("abc".utf8)), .integer(5)])]),
                ("+OK\r\n", [RedisValue.status("OK")]),
            ],
            decoderFactory: {
                // Allocation only fails when out of memory; the verifier wants a non-throwing factory.
                try! RedisReplyDecoder()
            })
    }

    @Test func anArrayLongerThanTheLimitIsRefusedBeforeAllocation() throws {
        let channel = try channel(maxElements: 1_000)
        #expect(throws: RedisError.self) {
            try channel.writeInbound(buffer("*2000000000\r\n"))
        }
        _ = try? channel.finish()
    }

    @Test func aHostileBulkLengthFailsOnceTheBufferedBytesPassTheLimit() throws {
        let channel = try channel(maxReplyBytes: 1_024)
        // The header alone is accepted: the reply is refused when it grows past the limit.
        #expect(try channel.writeInbound(buffer("$2000000000\r\n")).isEmpty)
        #expect(throws: RedisError.self) {
            try channel.writeInbound(ByteBuffer(bytes: [UInt8](repeating: 0x61, count: 2_048)))
        }
        _ = try? channel.finish()
    }

    /// Feeds `chunks` until the decoder refuses one; returns how many it took and the error.
    private func feedUntilRefused(
        _ channel: EmbeddedChannel,
        _ chunks: some Sequence<ByteBuffer>
    ) -> (fed: Int, error: RedisError?) {
        var fed = 0
        for chunk in chunks {
            fed += 1
            do {
                _ = try channel.writeInbound(chunk)
            } catch {
                return (fed, error as? RedisError)
            }
        }
        return (fed, nil)
    }

    /// 10 million empty strings in one array: refused by its header, before anything is built.
    @Test func anArrayOfTenMillionEmptyStringsIsRefusedByItsHeader() throws {
        let channel = try channel(maxElements: 100_000)
        let chunk = ByteBuffer(string: String(repeating: "$0\r\n\r\n", count: 10_000))
        let (fed, error) = feedUntilRefused(
            channel, [buffer("*10000000\r\n")] + Array(repeating: chunk, count: 1_000))
        #expect(fed == 1)
        #expect(error == .protocolViolation("a reply holds more than 100000 elements"))
        _ = try? channel.finish()
    }

    /// Arrays of arrays, each under the limit: the elements of the whole reply count, so it is
    /// refused once they pass it, while the bytes not yet parsed stay far below the byte limit.
    @Test func aReplyOfManySmallNestedArraysIsRefusedOnceItsElementsPassTheLimit() throws {
        let channel = try channel(maxElements: 100_000, maxReplyBytes: 1 << 20)
        let inner = "*1000\r\n" + String(repeating: ":1\r\n", count: 1_000)
        // 1,000 arrays of 1,000 integers: a million elements in 4 MB, 4 KB to a chunk.
        let chunks = [buffer("*1000\r\n")] + Array(repeating: buffer(inner), count: 1_000)
        let (fed, error) = feedUntilRefused(channel, chunks)
        #expect(error == .protocolViolation("a reply holds more than 100000 elements"))
        // About 100 inner arrays were built when the 101st was refused.
        #expect((99...103).contains(fed), "refused after \(fed) chunks")
        _ = try? channel.finish()
    }

    /// Many small strings: the bytes of the reply being built count, not only those unparsed.
    @Test func aReplyWhoseStringsPassTheByteLimitIsRefused() throws {
        let channel = try channel(maxElements: 100_000, maxReplyBytes: 64 * 1_024)
        let element = "$1000\r\n" + String(repeating: "x", count: 1_000) + "\r\n"
        let chunks = [buffer("*1000\r\n")] + Array(repeating: buffer(element), count: 1_000)
        let (fed, error) = feedUntilRefused(channel, chunks)
        #expect(error == .protocolViolation("a reply is larger than 65536 bytes"))
        #expect((64...67).contains(fed), "refused after \(fed) chunks")
        _ = try? channel.finish()
    }

    /// The budget is per reply: replies just under it, one after another, all decode.
    @Test func repliesUnderTheLimitsDecodeOneAfterAnother() throws {
        let channel = try channel(maxElements: 1_001, maxReplyBytes: 4_000)
        let reply = "*1000\r\n" + String(repeating: "$3\r\nabc\r\n", count: 1_000)
        for _ in 0..<5 {
            #expect(try channel.writeInbound(buffer(reply)).isFull)
            let decoded = try channel.readInbound(as: RedisValue.self)
            #expect(decoded?.array?.count == 1_000)
        }
        #expect(try channel.finish().isClean)
    }

    /// hiredis 0.14 checks the type byte and the nesting depth (at most 7 levels); it reads
    /// numbers leniently, which the size limits above make harmless.
    @Test(arguments: ["?what\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"])
    func malformedRepliesAreProtocolViolations(input: String) throws {
        let channel = try channel()
        #expect(throws: RedisError.self) {
            try channel.writeInbound(buffer(input))
        }
        _ = try? channel.finish()
    }

    @Test func leftoverBytesOfAnIncompleteReplyFailTheEnd() throws {
        let channel = try channel()
        #expect(try channel.writeInbound(buffer("+OK\r\n$5\r\nab")).isFull)
        #expect(try channel.readInbound(as: RedisValue.self) == .status("OK"))
        #expect(throws: RedisError.self) {
            _ = try channel.finish()
        }
    }

    @Test func commandsEncodeAsRESPArraysOfBulkStrings() throws {
        var buffer = ByteBuffer()
        try RedisCommand([Array("SET".utf8), [0, 13, 10], []]).encode(into: &buffer)
        #expect(
            buffer.readBytes(length: buffer.readableBytes)
                == Array("*3\r\n$3\r\nSET\r\n$3\r\n\0\r\n\r\n$0\r\n\r\n".utf8))
        var empty = ByteBuffer()
        #expect(throws: RedisError.self) { try RedisCommand([]).encode(into: &empty) }
    }

    @Test func redisURLsParse() throws {
        let full = try RedisConfiguration(url: "redis://svc%40a:p%3Ass@10.0.0.5:6380/3")
        #expect(full.user == "svc@a")
        #expect(full.password == "p:ss")
        #expect(full.host == "10.0.0.5")
        #expect(full.port == 6380)
        #expect(full.database == 3)
        #expect(full.description == "redis://10.0.0.5:6380/3")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:7000")
        #expect(passwordOnly.user == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.database == 0)
        let bare = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(bare.port == 6379)
        #expect(bare.password == nil)
        #expect(bare.tls == nil)
        // A user without a password: the password comes from elsewhere (a file, the environment).
        let userOnly = try RedisConfiguration(url: "redis://app:@h:1")
        #expect(userOnly.user == "app")
        #expect(userOnly.password == nil)
        let tls = try RedisConfiguration(url: "rediss://app:pw@cache.internal:6380/2")
        #expect(tls.tls == RPCClientTLSConfiguration())
        #expect((tls.host, tls.port, tls.database, tls.password) == ("cache.internal", 6380, 2, "pw"))
        #expect(tls.description == "rediss://cache.internal:6380/2")
        for bad in [
            "http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x", "redis://%zz@h:1",
            "redisx://h:1",
        ] {
            #expect(throws: RedisError.self) { try RedisConfiguration(url: bad) }
        }
    }

    @Test func sentinelURLsParse() throws {
        let sentinel = try RedisConfiguration(url: "redis-sentinel://app:pw@10.0.0.1:26379,10.0.0.2:26380/tokens/2")
        #expect(
            sentinel.sentinels == [
                RedisEndpoint(host: "10.0.0.1", port: 26379), RedisEndpoint(host: "10.0.0.2", port: 26380),
            ])
        #expect(sentinel.masterName == "tokens")
        #expect(sentinel.database == 2)
        #expect(sentinel.user == "app")
        #expect(sentinel.password == "pw")
        #expect(sentinel.replicasToWait == 1)
        #expect(sentinel.description == "redis-sentinel://10.0.0.1:26379,10.0.0.2:26380/tokens/2")
        let bare = try RedisConfiguration(url: "redis-sentinel://s1:26379/mymaster")
        #expect(bare.database == 0)
        #expect(bare.password == nil)
        for bad in [
            "redis-sentinel://s1:26379", "redis-sentinel://s1:26379/", "redis-sentinel://s1/m",
            "redis-sentinel://s1:0/m", "redis-sentinel:///m", "redis-sentinel://s1:1/m/x",
        ] {
            #expect(throws: RedisError.self) { try RedisConfiguration(url: bad) }
        }
    }
}
