import Logging
import NIOCore
import NIOPosix

/// One connection to Redis: NIO owns the socket, hiredis parses the replies and encodes the
/// commands. Commands may be sent from any thread and are pipelined: each is written at once and
/// its reply matched in order.
public final class RedisConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens a connection, then logs in (`AUTH`) and selects the database when configured.
    /// - Parameters:
    ///   - configuration: the server and the limits.
    ///   - eventLoop: the loop the connection runs on.
    /// - Returns: the connection, ready for commands.
    /// - Throws: `connection` when the server cannot be reached, `authentication` when `AUTH` or
    ///   `SELECT` is refused.
    public static func connect(
        _ configuration: RedisConfiguration,
        on eventLoop: any EventLoop
    ) async throws(RedisError) -> RedisConnection {
        let connection: RedisConnection
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let decoder = try RedisReplyDecoder(
                            maxElements: configuration.maxReplyElements,
                            maxReplyBytes: configuration.maxReplyBytes)
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(decoder),
                            RedisCommandHandler(commandTimeout: configuration.commandTimeout))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
            connection = RedisConnection(channel: channel)
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connection("cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        do throws(RedisError) {
            var login: [RedisCommand] = []
            if let password = configuration.password {
                var auth = ["AUTH"]
                if let user = configuration.user {
                    auth.append(user)
                }
                auth.append(password)
                login.append(RedisCommand(auth.map { Array($0.utf8) }))
            }
            if configuration.database != 0 {
                login.append(RedisCommand("SELECT", [RedisArgument(configuration.database)]))
            }
            login.append(RedisCommand("PING"))
            for reply in try await connection.sendAll(login) {
                if case .error(let message) = reply {
                    throw RedisError.authentication(message)
                }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// False once the connection was lost or closed.
    public var isActive: Bool {
        channel.isActive
    }

    /// The loop the connection runs on.
    public var eventLoop: any EventLoop {
        channel.eventLoop
    }

    /// Sends commands in one write and answers with their replies, in order. An error reply is a
    /// reply (`.error`), not a thrown error.
    /// - Parameter commands: the commands.
    /// - Returns: a future of one reply per command.
    public func sendAll(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        let eventLoop = channel.eventLoop
        guard !commands.isEmpty else { return eventLoop.makeSucceededFuture([]) }
        let replies = commands.map { _ in eventLoop.makePromise(of: RedisValue.self) }
        channel.writeAndFlush(RedisRequest(commands: commands, replies: replies)).whenFailure { error in
            for reply in replies {
                reply.fail((error as? RedisError) ?? .connection("\(error)"))
            }
        }
        return EventLoopFuture.whenAllSucceed(replies.map(\.futureResult), on: eventLoop)
    }

    /// Sends one command and answers with its reply; an error reply is a reply.
    /// - Parameter command: the command.
    /// - Returns: a future of the reply.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RedisValue> {
        sendAll([command]).flatMapThrowing { replies in
            guard let reply = replies.first else { throw RedisError.protocolViolation("no reply") }
            return reply
        }
    }

    /// Sends commands in one write and returns their replies, in order.
    /// - Parameter commands: the commands.
    /// - Returns: one reply per command; an error reply is a reply.
    /// - Throws: `connection`, `timeout` or `protocolViolation` when the replies did not all come.
    public func sendAll(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        do {
            return try await sendAll(commands).get()
        } catch {
            throw (error as? RedisError) ?? .connection("\(error)")
        }
    }

    /// Sends one command and returns its reply.
    /// - Parameter command: the command.
    /// - Returns: the reply; an error reply is a reply.
    /// - Throws: `connection`, `timeout` or `protocolViolation` when no reply came.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        do {
            return try await send(command).get()
        } catch {
            throw (error as? RedisError) ?? .connection("\(error)")
        }
    }

    /// Closes the connection; outstanding commands fail.
    public func close() {
        channel.close(promise: nil)
    }
}
