import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis: NIO owns the socket, hiredis parses the replies and encodes the
/// commands. Commands may be sent from any thread and are pipelined: each is written at once and
/// its reply matched in order.
public final class RedisConnection: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens a connection (TLS first when configured), then logs in (`AUTH`) and selects the
    /// database when configured.
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
        guard let masterName = configuration.masterName, !configuration.sentinels.isEmpty else {
            return try await open(configuration, host: configuration.host, port: configuration.port, on: eventLoop)
        }
        // Asks each sentinel in turn for the master, and accepts only a server that says it is one:
        // during a failover the sentinels may still name the old master for a moment.
        var sentinelConfiguration = configuration
        sentinelConfiguration.tls = nil
        sentinelConfiguration.user = nil
        sentinelConfiguration.password = configuration.sentinelPassword
        sentinelConfiguration.database = 0
        var lastError = RedisError.connection("no sentinel answered")
        for sentinel in configuration.sentinels {
            do throws(RedisError) {
                let asked = try await open(
                    sentinelConfiguration, host: sentinel.host, port: sentinel.port, on: eventLoop)
                defer { asked.close() }
                let reply = try await asked.send(RedisCommand("SENTINEL", "get-master-addr-by-name", masterName))
                guard let address = reply.array, address.count == 2, let host = address[0].string,
                    let port = address[1].string.flatMap({ Int($0) })
                else {
                    lastError = .connection("sentinel \(sentinel.host):\(sentinel.port) knows no master \(masterName)")
                    continue
                }
                let master = try await open(configuration, host: host, port: port, on: eventLoop)
                let role = try await master.send(RedisCommand("ROLE"))
                guard role.array?.first?.string == "master" else {
                    master.close()
                    lastError = .connection("\(host):\(port) is not the master (yet)")
                    continue
                }
                return master
            } catch {
                if error.isAuthenticationFailure {
                    throw error
                }
                lastError = error
            }
        }
        throw lastError
    }

    /// Opens a connection to `host`:`port` and logs in.
    private static func open(
        _ configuration: RedisConfiguration,
        host: String,
        port: Int,
        on eventLoop: any EventLoop
    ) async throws(RedisError) -> RedisConnection {
        // The files are read at every connection: a certificate replaced on disk is used from the
        // next one on.
        let tls: (context: NIOSSLContext, serverName: String?)?
        do {
            tls = try configuration.tls.map { settings in
                (try settings.makeContext(), settings.expectedServerName(host: host))
            }
        } catch {
            throw .configuration("TLS: \(error)")
        }
        let connection: RedisConnection
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                        }
                        let decoder = try RedisReplyDecoder(
                            maxElements: configuration.maxReplyElements,
                            maxReplyBytes: configuration.maxReplyBytes)
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(decoder),
                            RedisCommandHandler(
                                commandTimeout: configuration.commandTimeout,
                                stallTimeout: configuration.connectionStallTimeout,
                                maxPendingCommands: configuration.maxPendingCommands))
                    }
                }
                .connect(host: host, port: port)
                .get()
            connection = RedisConnection(channel: channel)
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connection("cannot connect to \(host):\(port): \(error)")
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
