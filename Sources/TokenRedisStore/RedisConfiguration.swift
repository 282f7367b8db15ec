import NIOCore
import TokenCore
import TokenRPC

/// Where and how to reach Redis.
public struct RedisConfiguration: Sendable, Hashable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The ACL user for `AUTH`; nil for the default user.
    public var user: String?
    /// The password for `AUTH`; nil to skip `AUTH`. Secret: never logged.
    public var password: String?
    /// The database `SELECT`ed after connecting (0 is Redis's default).
    public var database: Int
    /// TLS to the server (`rediss://`): the CAs trusted, a client certificate for mutual TLS, the
    /// name its certificate must carry (by default `host`); nil for plain TCP.
    public var tls: RPCClientTLSConfiguration?
    /// How long opening a connection (and logging in) may take.
    public var connectTimeout: TimeAmount
    /// How long a command may wait for its reply before it fails (alone: its reply is dropped
    /// when it comes, and the connection stays open).
    public var commandTimeout: TimeAmount
    /// How long the oldest command on a connection may wait with no reply at all before the
    /// connection is taken as broken: closed, every command on it failed, a new one opened.
    public var connectionStallTimeout: TimeAmount = .seconds(5)
    /// The most commands one connection may have waiting for replies (timed out ones included);
    /// more fail at once.
    public var maxPendingCommands = 65_536
    /// The first wait before reconnecting after a failed attempt; it doubles up to `maxBackoff`,
    /// each wait drawn at random between half and all of it (jitter).
    public var initialBackoff: TimeAmount
    /// The longest wait before reconnecting.
    public var maxBackoff: TimeAmount
    /// The most elements a reply may hold, nested ones included.
    public var maxReplyElements: Int
    /// The largest reply, in bytes: its strings, and what is buffered of it unparsed.
    public var maxReplyBytes: Int
    /// The sentinels to ask for the master's address; empty to connect to `host`:`port` directly.
    public var sentinels: [RedisEndpoint] = []
    /// The name of the master the sentinels monitor (with `sentinels`).
    public var masterName: String?
    /// The password for `AUTH` on the sentinels (their default user); nil when they need none.
    /// Secret: never logged.
    public var sentinelPassword: String?
    /// How many replicas must have an acknowledged revocation before it is answered OK (`WAIT`);
    /// 0 to not wait. A `redis-sentinel://` URL sets 1.
    public var replicasToWait = 0
    /// How long `WAIT` waits for the replicas.
    public var replicaWaitTimeout: TimeAmount = .milliseconds(500)

    /// Creates a configuration.
    public init(
        host: String,
        port: Int = 6379,
        user: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: TimeAmount = .seconds(2),
        commandTimeout: TimeAmount = .seconds(2),
        initialBackoff: TimeAmount = .milliseconds(50),
        maxBackoff: TimeAmount = .seconds(2),
        maxReplyElements: Int = RedisReplyDecoder.defaultMaxElements,
        maxReplyBytes: Int = RedisReplyDecoder.defaultMaxReplyBytes
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxReplyElements = maxReplyElements
        self.maxReplyBytes = maxReplyBytes
    }

    /// Parses `redis://[USER:PASSWORD@]HOST:PORT[/DB]` (also `redis://:PASSWORD@HOST:PORT`), the
    /// same with `rediss://` for TLS (trusting the system's CAs until `tls` says otherwise), or a
    /// `redis-sentinel://` URL. User and password may be percent-encoded.
    /// - Parameter url: the URL.
    /// - Throws: `configuration` naming what is wrong (never the password).
    public init(url: String) throws(RedisError) {
        let sentinelScheme = "redis-sentinel://"
        if url.hasPrefix(sentinelScheme) {
            try self.init(sentinelURL: Substring(url.dropFirst(sentinelScheme.count)))
            return
        }
        guard let scheme = ["redis://", "rediss://"].first(where: { url.hasPrefix($0) }) else {
            throw .configuration("the store URL must start with redis://, rediss:// or redis-sentinel://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        let (user, password) = try Self.takeCredentials(from: &rest)
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), (0...1_000_000).contains(number) else {
                    throw .configuration("the database in the store URL must be a number")
                }
                database = number
            }
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(number) else {
                throw .configuration("the port in the store URL must be 1 to 65535")
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw .configuration("the store URL names no host") }
        self.init(host: host, port: port, user: user, password: password, database: database)
        if scheme == "rediss://" {
            tls = RPCClientTLSConfiguration()
        }
    }

    /// Parses what follows `redis-sentinel://`: `[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]`.
    /// The credentials are the master's; the sentinels' password is `sentinelPassword`.
    private init(sentinelURL: Substring) throws(RedisError) {
        var rest = sentinelURL
        let (user, password) = try Self.takeCredentials(from: &rest)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[1].isEmpty else {
            throw .configuration("a sentinel URL is redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]")
        }
        var sentinels: [RedisEndpoint] = []
        for address in parts[0].split(separator: ",") {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                (1...65_535).contains(port), colon > address.startIndex
            else {
                throw .configuration("each sentinel must be HOST:PORT with a port of 1 to 65535")
            }
            sentinels.append(RedisEndpoint(host: String(address[..<colon]), port: port))
        }
        guard !sentinels.isEmpty, sentinels.count <= 16 else {
            throw .configuration("a sentinel URL names 1 to 16 sentinels")
        }
        var database = 0
        if parts.count == 3, !parts[2].isEmpty {
            guard let number = Int(parts[2]), (0...1_000_000).contains(number) else {
                throw .configuration("the database in the store URL must be a number")
            }
            database = number
        }
        self.init(
            host: sentinels[0].host, port: sentinels[0].port, user: user, password: password, database: database)
        self.sentinels = sentinels
        self.masterName = String(parts[1])
        self.replicasToWait = 1
    }

    /// Removes a leading `[USER:]PASSWORD@` from `rest` and returns its percent-decoded parts (no
    /// user for an empty name, no password for an empty one: `USER:@` names only the user).
    private static func takeCredentials(
        from rest: inout Substring
    ) throws(RedisError) -> (user: String?, password: String?) {
        guard let at = rest.lastIndex(of: "@") else { return (nil, nil) }
        let credentials = rest[..<at]
        rest = rest[rest.index(after: at)...]
        let name: String
        let password: String
        if let colon = credentials.firstIndex(of: ":") {
            name = try percentDecoded(credentials[..<colon])
            password = try percentDecoded(credentials[credentials.index(after: colon)...])
        } else {
            name = ""
            password = try percentDecoded(credentials)
        }
        return (name.isEmpty ? nil : name, password.isEmpty ? nil : password)
    }

    private static func percentDecoded(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value)
            else {
                throw .configuration("a bad percent escape in the store URL's credentials")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .configuration("the store URL's credentials are not UTF-8")
        }
        return decoded
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The server (or the sentinels and master name) and database, without credentials.
    public var description: String {
        if let masterName, !sentinels.isEmpty {
            let addresses = sentinels.map { "\($0.host):\($0.port)" }.joined(separator: ",")
            return "redis-sentinel://\(addresses)/\(masterName)/\(database)"
        }
        return "\(tls == nil ? "redis" : "rediss")://\(host):\(port)/\(database)"
    }
}

/// A host and port.
public struct RedisEndpoint: Sendable, Hashable {
    /// The host name or address.
    public var host: String
    /// The port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
