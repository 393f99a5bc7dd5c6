// swift-tools-version: 6.1
import PackageDescription

/// Release builds of numeric code drop bounds checks: the kernels index raw pointers whose
/// extents are checked once per op by preconditions that stay on.
let numericFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Cortex",
    products: [
        .library(name: "Cortex", targets: ["Cortex"]),
        .library(name: "Envs", targets: ["Envs"]),
        .executable(name: "cortex", targets: ["cortex"]),
    ],
    traits: [
        .trait(name: "SDL", description: "Show games in an SDL2 window (needs libsdl2-dev)."),
        .default(enabledTraits: ["SDL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CCBLAS", path: "Sources/CCBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "Cortex", dependencies: ["CCBLAS"], path: "Sources/Cortex",
                swiftSettings: numericFlags),
        .executableTarget(
            name: "cortex",
            dependencies: ["Cortex", "Envs", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/cortex", swiftSettings: numericFlags),
        .target(name: "Envs", path: "envs", exclude: ["README.md"]),
        .target(name: "CortexTestSupport", dependencies: ["Cortex"], path: "Tests/CortexTestSupport"),
        .testTarget(name: "CortexTests", dependencies: ["Cortex", "CortexTestSupport"], path: "Tests/CortexTests"),
        .testTarget(name: "EnvsTests", dependencies: ["Envs"], path: "Tests/EnvsTests", exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
