import TokenHTTP

extension HTTPServerConfiguration {
    /// The gate's limits: a token of up to 8 KiB fits in a header and in an introspection form.
    public static var gate: HTTPServerConfiguration {
        HTTPServerConfiguration(maxHeaderCount: 100, maxBodyBytes: 16_384, maxConnections: 1_024)
    }
}
