import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import TokenRedisStore

/// The command handler on an `EmbeddedChannel`, whose clock the test moves: a command that times
/// out fails alone, its late reply is dropped, and only a connection that answers nothing for the
/// stall timeout is closed.
@Suite("Redis command handler")
struct RedisCommandHandlerTests {
    /// The outcome of one command, once known.
    final class Outcome: Sendable {
        private let state = Mutex<Result<RedisValue, RedisError>?>(nil)

        init(_ future: EventLoopFuture<RedisValue>) {
            future.whenComplete { result in
                self.state.withLock { $0 = result.mapError { ($0 as? RedisError) ?? .connection("\($0)") } }
            }
        }

        var result: Result<RedisValue, RedisError>? { state.withLock { $0 } }
        var isPending: Bool { result == nil }
    }

    private func channel(maxPendingCommands: Int = 100) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(try RedisReplyDecoder()),
            RedisCommandHandler(
                commandTimeout: .seconds(1), stallTimeout: .seconds(5), maxPendingCommands: maxPendingCommands))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    private func send(_ channel: EmbeddedChannel, _ commands: RedisCommand...) -> [Outcome] {
        // As `RedisConnection.sendAll` does: a write the channel refuses fails every reply.
        let replies = commands.map { _ in channel.eventLoop.makePromise(of: RedisValue.self) }
        channel.writeAndFlush(RedisRequest(commands: commands, replies: replies)).whenFailure { error in
            for reply in replies {
                reply.fail((error as? RedisError) ?? .connection("\(error)"))
            }
        }
        return replies.map { Outcome($0.futureResult) }
    }

    private func reply(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    @Test func aTimedOutCommandFailsAloneAndItsLateReplyIsDropped() throws {
        let channel = try channel()
        let first = send(channel, RedisCommand("GET", "a"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        let second = send(channel, RedisCommand("GET", "b"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        #expect(first[0].result == .failure(.timeout))
        #expect(second[0].isPending)
        #expect(channel.isActive)

        // The first reply comes late and is dropped; the second goes to its own command.
        try reply(channel, "$1\r\nA\r\n$1\r\nB\r\n")
        #expect(second[0].result == .success(.bulk(Array("B".utf8))))
        let third = send(channel, RedisCommand("GET", "c"))
        try reply(channel, "$1\r\nC\r\n")
        #expect(third[0].result == .success(.bulk(Array("C".utf8))))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aConnectionThatAnswersNothingForTheStallTimeoutIsClosed() throws {
        let channel = try channel()
        let first = send(channel, RedisCommand("GET", "a"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let second = send(channel, RedisCommand("GET", "b"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        // A reply at 3 s: the connection answers, slowly. The stall clock starts again there.
        try reply(channel, ":1\r\n")
        #expect(first[0].result == .failure(.timeout))
        #expect(second[0].result == .failure(.timeout))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_900))
        #expect(channel.isActive)
        let third = send(channel, RedisCommand("GET", "c"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        // Nothing since 3 s, with commands waiting: broken. Every command fails, new ones at once.
        #expect(!channel.isActive)
        #expect(third[0].result?.isConnectionFailure == true)
        let later = send(channel, RedisCommand("PING"))
        #expect(later[0].result?.isConnectionFailure == true)
    }

    @Test func commandsBeyondTheBoundFailAtOnceAndTimedOutOnesHoldTheirSlots() throws {
        let channel = try channel(maxPendingCommands: 3)
        let waiting = send(channel, RedisCommand("GET", "a"), RedisCommand("GET", "b"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(waiting.allSatisfy { $0.result == .failure(.timeout) })
        let fits = send(channel, RedisCommand("GET", "c"))
        let over = send(channel, RedisCommand("GET", "d"))
        #expect(over[0].result?.isConnectionFailure == true)
        #expect(fits[0].isPending)
        // The late replies free the slots.
        try reply(channel, ":1\r\n:2\r\n:3\r\n")
        #expect(fits[0].result == .success(.integer(3)))
        let next = send(channel, RedisCommand("GET", "e"), RedisCommand("GET", "f"), RedisCommand("GET", "g"))
        try reply(channel, ":5\r\n:6\r\n:7\r\n")
        #expect(next.map(\.result) == [.success(.integer(5)), .success(.integer(6)), .success(.integer(7))])
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aReplyNoCommandAskedForClosesTheConnection() throws {
        let channel = try channel()
        try reply(channel, "+OK\r\n")
        #expect(!channel.isActive)
    }
}

extension Result<RedisValue, RedisError> {
    fileprivate var isConnectionFailure: Bool {
        if case .failure(let error) = self { return error.isConnectionFailure && error != .timeout }
        return false
    }
}
