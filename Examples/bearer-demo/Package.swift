// swift-tools-version:6.1
import PackageDescription

// An example HTTP service that accepts requests carrying a bearer token issued by tokend.
// Its own package, so that the main package does not build Hummingbird.
let package = Package(
    name: "bearer-demo",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "token-service", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "bearer-demo",
            dependencies: [
                .product(name: "TokenClient", package: "token-service"),
                // RFC 6750: the Authorization header's parser and the challenge's format.
                .product(name: "TokenHTTP", package: "token-service"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)
