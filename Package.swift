// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "token-service",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TokenCore", targets: ["TokenCore"]),
        .library(name: "TokenClient", targets: ["TokenClient"]),
        .library(name: "TokenHTTP", targets: ["TokenHTTP"]),
        .executable(name: "tokend", targets: ["tokend"]),
        .executable(name: "tokengate", targets: ["tokengate"]),
        .executable(name: "tokenctl", targets: ["tokenctl"]),
        .executable(name: "tokenbench", targets: ["tokenbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // hiredis: the RESP reply reader and the command encoder of the Redis store.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // protoc-c's output for proto/token/v1/token.proto (tools/gen-proto).
        .target(
            name: "CTokenProto",
            dependencies: ["CProtobufC"]
        ),

        // Swift value types of the wire contract, the frame codec, and the conversions between the
        // service's wire types and TokenCore's (TokenCore never depends on TokenWire).
        .target(
            name: "TokenWire",
            dependencies: [
                "CTokenProto",
                "TokenCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // JWTs, keys, key ring, revocation set: no NIO, no protobuf.
        .target(
            name: "TokenCore",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        // The listening port both servers share: bind, connection limit, a task per connection,
        // graceful shutdown with a drain timeout, the TLS context of new connections.
        .target(
            name: "TokenServerCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // An HTTP/1.1 server on TokenServerCore: a responder gets each request, body included.
        .target(
            name: "TokenHTTP",
            dependencies: [
                "TokenCore",
                "TokenServerCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the OAuth endpoints of tokend and tokengate share (RFC 6749 errors and client
        // credentials, RFC 7009/7662 forms, RFC 7662 answers).
        .target(
            name: "TokenOAuth",
            dependencies: [
                "TokenCore",
                "TokenHTTP",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Prometheus backend the executables bootstrap (the libraries only record).
        .target(
            name: "TokenPrometheus",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The RPC runtime: server dispatch, authentication, client connection.
        .target(
            name: "TokenRPC",
            dependencies: [
                "TokenServerCore",
                "TokenWire",
                "TokenCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store protocol and the embedded durable store.
        .target(
            name: "TokenStore",
            dependencies: [
                "CSQLite",
                "TokenCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Redis client (NIO sockets, hiredis parsing) and the Redis store.
        .target(
            name: "TokenRedisStore",
            dependencies: [
                "CHiredis",
                "TokenStore",
                "TokenCore",
                // The client TLS settings (`rediss://`), shared with the RPC client.
                "TokenRPC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The token service: the nine methods on top of a store.
        .target(
            name: "TokenServer",
            dependencies: [
                "TokenRPC",
                "TokenServerCore",
                "TokenHTTP",
                "TokenOAuth",
                "TokenStore",
                "TokenCore",
                "TokenWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What services embed: local verification, revocation mirror, typed client.
        .target(
            name: "TokenClient",
            dependencies: [
                "TokenRPC",
                "TokenCore",
                "TokenWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // tokengate's routes: forward auth and introspection from one TokenValidator.
        .target(
            name: "TokenGate",
            dependencies: [
                "TokenClient",
                "TokenCore",
                "TokenHTTP",
                "TokenOAuth",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "tokend",
            dependencies: [
                "TokenServer",
                "TokenHTTP",
                "TokenPrometheus",
                "TokenRedisStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tokengate",
            dependencies: [
                "TokenGate",
                "TokenClient",
                "TokenHTTP",
                "TokenPrometheus",
                "TokenRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tokenctl",
            dependencies: [
                "TokenClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tokenbench",
            dependencies: [
                "TokenCore",
                "COpenSSL",
                "TokenServer",
                "TokenStore",
                "TokenRedisStore",
                "TokenClient",
                "TokenGate",
                "TokenHTTP",
                "TokenPrometheus",
                "TokenRPC",
                "TokenWire",
                // SeededRandom: the same Zipf draws in every run.
                "TokenTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer entry point for the frame + envelope decoder (see README).
        .executableTarget(
            name: "FrameFuzzer",
            dependencies: [
                "TokenWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "TokenTestSupport",
            dependencies: [
                "TokenCore",
                "TokenWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenWireTests",
            dependencies: [
                "TokenWire",
                "TokenTestSupport",
                "TokenStore",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenCoreTests",
            dependencies: ["TokenCore", "TokenTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenRPCTests",
            dependencies: [
                "TokenRPC",
                "TokenServerCore",
                "TokenWire",
                "TokenTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenServerCoreTests",
            dependencies: [
                "TokenServerCore",
                "TokenTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenHTTPTests",
            dependencies: [
                "TokenHTTP",
                "TokenTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenStoreTests",
            dependencies: [
                "TokenStore",
                "TokenRedisStore",
                "TokenTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenRedisStoreTests",
            dependencies: [
                "TokenRedisStore",
                "TokenRPC",
                "TokenTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenClientTests",
            dependencies: ["TokenClient", "TokenCore", "TokenRPC", "TokenWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenBenchTests",
            dependencies: ["tokenbench"],
            swiftSettings: swiftSettings
        ),
        // tokenctl end to end: the built tokend and tokenctl binaries as subprocesses.
        .testTarget(
            name: "TokenctlTests",
            dependencies: ["TokenCore", "TokenTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenServerTests",
            dependencies: [
                "TokenServer",
                "TokenGate",
                "TokenOAuth",
                "TokenHTTP",
                "TokenRedisStore",
                "TokenClient",
                "TokenRPC",
                "TokenTestSupport",
                "TokenStore",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
