// swift-tools-version: 6.1
import PackageDescription

/// Release builds use plain `-O`: `-Ounchecked` was measured to change nothing in the kernels
/// (they index raw pointers, which have no bounds checks) and it would remove the
/// preconditions that name the op and shapes on misuse.
let numericFlags: [SwiftSetting] = []

let package = Package(
    name: "Cortex",
    products: [
        .library(name: "Cortex", targets: ["Cortex"]),
        .library(name: "Envs", targets: ["Envs"]),
        .library(name: "Data", targets: ["Data"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Render", targets: ["Render"]),
        .library(name: "Recipes", targets: ["Recipes"]),
        .executable(name: "cortex", targets: ["cortex"]),
    ],
    traits: [
        .trait(name: "SDL", description: "Show games in an SDL2 window (needs libsdl2-dev)."),
        .trait(
            name: "MPI",
            description: "Data-parallel training under mpirun/srun over Open MPI (needs libopenmpi-dev)."),
        .default(enabledTraits: ["SDL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian packages in scripts/setup).
        .systemLibrary(name: "CCBLAS", path: "Sources/CCBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // No pkgConfig for SDL2: its cflags carry -D_REENTRANT, which SwiftPM refuses with a
        // warning on every build; the shim includes <SDL2/SDL.h> and the module map links SDL2.
        .systemLibrary(name: "CSDL2", path: "Sources/CSDL2", providers: [.apt(["libsdl2-dev"])]),
        // Open MPI (only with the `MPI` trait): its handles are macros, so the shim hands them over.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        // JPEG decoding through Debian's libjpeg-turbo, with libjpeg's errors caught in C.
        .target(name: "CJPEG", path: "Sources/CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // Cortex's own C kernels (CPU feature checks, AVX2 loops picked at run time).
        .target(name: "CKernels", path: "Sources/CKernels"),

        // The library. Two roots that know nothing of each other: the tensor core (Cortex) and
        // the environments (Envs); above them models, data, agents, rendering, recipes.
        .target(name: "Cortex", dependencies: ["CCBLAS", "CKernels"], path: "Sources/Cortex",
                swiftSettings: numericFlags),
        .target(name: "Envs", path: "envs", exclude: ["README.md"]),
        .target(name: "Data", dependencies: ["Cortex", "CZlib", "CPNG", "CJPEG"], path: "Sources/Data",
                swiftSettings: numericFlags),
        .target(name: "Models", dependencies: ["Cortex"], path: "Sources/Models", swiftSettings: numericFlags),
        .target(name: "Agents", dependencies: ["Cortex", "Envs"], path: "agents", swiftSettings: numericFlags),
        // Training recipes: each job's config with every default, and its training loop.
        .target(name: "Recipes", dependencies: ["Cortex", "Data", "Models"], path: "Sources/Recipes",
                swiftSettings: numericFlags),
        .target(name: "Render",
                dependencies: ["Envs", .target(name: "CSDL2", condition: .when(traits: ["SDL"]))],
                path: "Sources/Render"),

        // The command.
        .executableTarget(
            name: "cortex",
            dependencies: ["Cortex", "CCBLAS", "CKernels", "Envs", "Agents", "Render", "Data", "Models", "Recipes",
                           .target(name: "CMPI", condition: .when(traits: ["MPI"])),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/cortex", swiftSettings: numericFlags),

        // Tests.
        .target(name: "CortexTestSupport", dependencies: ["Cortex"], path: "Tests/CortexTestSupport"),
        .testTarget(name: "CortexTests", dependencies: ["Cortex", "CortexTestSupport"], path: "Tests/CortexTests"),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "CortexTestSupport"], path: "Tests/AgentsTests"),
        .testTarget(name: "EnvsTests", dependencies: ["Envs", "CortexTestSupport"], path: "Tests/EnvsTests", exclude: ["Fixtures"]),
        .testTarget(name: "GoTests", dependencies: ["Envs", "CortexTestSupport"], path: "Tests/GoTests"),
        .testTarget(name: "DataTests", dependencies: ["Data", "Cortex", "CZlib", "CortexTestSupport"], path: "Tests/DataTests"),
        .testTarget(name: "TextTests", dependencies: ["Cortex", "Data", "Models", "CortexTestSupport"], path: "Tests/TextTests"),
        .testTarget(name: "VisionTests", dependencies: ["Models", "Recipes", "Data", "Cortex", "CortexTestSupport"],
                    path: "Tests/VisionTests"),
        .testTarget(name: "CommandTests", dependencies: ["Agents", "Models", "Recipes", "Cortex", "Data", "CortexTestSupport"],
                    path: "Tests/CommandTests"),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Envs", "CortexTestSupport"], path: "Tests/RenderTests"),
    ],
    swiftLanguageModes: [.v5]
)
