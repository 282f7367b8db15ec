/// A server address: a host name or IP address and a TCP port.
public struct RPCEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an endpoint.
    /// - Parameters:
    ///   - host: the host name or IP address.
    ///   - port: the TCP port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (`[v6-address]:port` for IPv6).
    /// - Parameter text: the endpoint's text.
    /// - Throws: `RPCConfigurationError.invalidEndpoint` when the text is not of that form or the
    ///   port is not in 0...65535.
    public init(parsing text: String) throws(RPCConfigurationError) {
        guard let colon = text.lastIndex(of: ":") else { throw .invalidEndpoint(text) }
        var host = Substring(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        }
        guard !host.isEmpty, !host.contains(":") || text.hasPrefix("["),
            portText.allSatisfy(\.isASCII), let port = Int(portText), (0...65_535).contains(port)
        else {
            throw .invalidEndpoint(text)
        }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
