import CortexTestSupport
import Foundation
import XCTest

/// `scripts/install PREFIX` gives a cortex that works from any folder: shipped models by name,
/// the default corpus, a man page and completions that know the choices and file kinds.
final class InstallTests: XCTestCase {
    func testInstalledCortexWorksFromAnyFolder() throws {
        let root = ShippedModelsTests.root
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cortex-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let install = Process()
        install.executableURL = root.appendingPathComponent("scripts/install")
        install.arguments = [prefix.path]
        var environment = ProcessInfo.processInfo.environment
        environment["CORTEX_BINARY"] = try cortexExecutable()
        install.environment = environment
        install.standardOutput = FileHandle.nullDevice
        install.standardError = FileHandle.nullDevice
        try install.run()
        install.waitUntilExit()
        XCTAssertEqual(install.terminationStatus, 0)

        let manPage = try String(contentsOf: prefix.appendingPathComponent("share/man/man1/cortex.1"), encoding: .utf8)
        XCTAssertTrue(manPage.hasPrefix(".TH CORTEX 1"))
        XCTAssertTrue(manPage.contains("cortex train breakout") && manPage.contains("\\-\\-checkpoint"))
        let bash = try String(
            contentsOf: prefix.appendingPathComponent("share/bash-completion/completions/cortex"), encoding: .utf8)
        XCTAssertTrue(bash.contains("--checkpoint") && bash.contains("safetensors"), "file completion for checkpoints")
        XCTAssertTrue(bash.contains("'grid'$'\\n''pixels'"), "choices of --obs are completed")

        // From an unrelated folder: a shipped model by name.
        let elsewhere = prefix.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let run = Process()
        run.executableURL = prefix.appendingPathComponent("bin/cortex")
        run.arguments = ["generate", "--checkpoint", "shakespeare-gpt", "--length", "20"]
        run.currentDirectoryURL = elsewhere
        let output = Pipe()
        run.standardOutput = output
        run.standardError = FileHandle.nullDevice
        try run.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        XCTAssertEqual(run.terminationStatus, 0)
        XCTAssertGreaterThanOrEqual(text.count, 20)
    }
}
