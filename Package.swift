// swift-tools-version:6.0
import PackageDescription

// Dependencies: only packages with a local copy on the build machines (see README).
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// Used by the tests only: an independent HTTP client, and YAML for the deployment files.
let asyncHTTPClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let yams = Target.Dependency.product(name: "Yams", package: "Yams")

let package = Package(
    name: "june-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "june-relay", targets: ["june-relay"]),
        .executable(name: "transform-bench", targets: ["transform-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Test-only: parses the deploy/ and docker-compose YAML in OperationsTests.
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C: librdkafka from Debian's librdkafka-dev through a module map. Only `Kafka` imports it.
        .systemLibrary(
            name: "CLibrdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Data path: Kafka consumer → transform → keyed dispatcher → June sender → offset tracker → commit.
        .target(name: "Kafka", dependencies: ["CLibrdKafka", logging], swiftSettings: swiftSettings),
        .target(name: "JuneTransform", swiftSettings: swiftSettings),
        // What the relay writes for others to read: dead-letter headers, offset-commit metadata.
        .target(name: "RelayFormats", swiftSettings: swiftSettings),
        .target(name: "JuneClient", dependencies: ["JuneTransform", nioCore, nioPosix, nioHTTP1, nioSSL, logging], swiftSettings: swiftSettings),
        .target(
            name: "Pipeline",
            dependencies: ["Kafka", "JuneTransform", "JuneClient", "RelayFormats", logging, metrics, serviceLifecycle],
            swiftSettings: swiftSettings
        ),
        // Around the data path: a tiny HTTP server (metrics, stub), the June stand-in, operator tools.
        .target(name: "MiniHTTPServer", dependencies: [nioCore, nioPosix, nioHTTP1, logging, serviceLifecycle], swiftSettings: swiftSettings),
        .target(name: "JuneStub", dependencies: ["MiniHTTPServer", "JuneTransform", logging, serviceLifecycle], swiftSettings: swiftSettings),
        .target(name: "RelayOperations", dependencies: ["Kafka", "RelayFormats", logging], swiftSettings: swiftSettings),
        .executableTarget(
            name: "june-relay",
            dependencies: [
                "Pipeline", "Kafka", "JuneTransform", "JuneClient", "JuneStub", "MiniHTTPServer", "RelayOperations",
                argumentParser, logging, metrics, prometheus, serviceLifecycle, unixSignals,
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "transform-bench", dependencies: ["JuneTransform"], swiftSettings: swiftSettings),

        // Shared by the test targets (a library, not a product, like Hummingbird's HummingbirdTesting): child
        // processes of the built binary, the end-to-end harness, the Kafka fixture, test logging.
        .target(name: "TestSupport", dependencies: ["Kafka", logging], path: "Tests/TestSupport", swiftSettings: swiftSettings),

        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TestSupport", logging], swiftSettings: swiftSettings),
        .testTarget(name: "JuneTransformTests", dependencies: ["JuneTransform", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "JuneClientTests",
            dependencies: ["JuneClient", "JuneStub", "MiniHTTPServer", "JuneTransform", "TestSupport", asyncHTTPClient, nioCore, nioPosix, nioSSL, logging],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JuneStubTests",
            dependencies: ["JuneStub", "MiniHTTPServer", "JuneTransform", "TestSupport", asyncHTTPClient, nioCore, nioHTTP1, logging],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MiniHTTPServerTests",
            dependencies: ["MiniHTTPServer", "TestSupport", asyncHTTPClient, nioCore, nioHTTP1, logging, serviceLifecycle],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Pipeline", "Kafka", "JuneTransform", "JuneClient", "RelayFormats", "TestSupport", logging],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "IntegrationTests", dependencies: ["Kafka", "TestSupport", logging], swiftSettings: swiftSettings),
        .testTarget(name: "OperationsTests", dependencies: ["RelayOperations", "Kafka", "Pipeline", "TestSupport", logging, yams], swiftSettings: swiftSettings),
    ]
)
