import CortexTestSupport
import Data
import Foundation
import XCTest

/// Every file in models/ loads through the commands by its name and still has the quality
/// models/README.md states, measured on a sample.
final class ShippedModelsTests: XCTestCase {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    private func lastJSON(_ arguments: [String]) throws -> [String: Any] {
        let result = try runCortex(arguments)
        XCTAssertEqual(result.status, 0, "cortex \(arguments.joined(separator: " ")):\n\(result.stderr)")
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
    }

    func testEveryShippedModelIsListedAndChecked() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("models").path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        let checked = [
            "breakout.safetensors", "lenet.safetensors", "shakespeare-gpt.safetensors", "vit.safetensors",
            "go9.safetensors", "go19.safetensors"
        ]
        XCTAssertFalse(files.isEmpty)
        for file in files { XCTAssertTrue(checked.contains(file), "\(file) has no quality check in this test") }
        let readme = try String(contentsOf: Self.root.appendingPathComponent("models/README.md"), encoding: .utf8)
        for file in files {
            XCTAssertTrue(
                readme.contains("`\(file.dropLast(".safetensors".count))`"), "\(file) is not in models/README.md")
        }
        let total = try files.map {
            try FileManager.default.attributesOfItem(atPath: Self.root.appendingPathComponent("models/" + $0).path)[
                .size] as? Int ?? 0
        }
        XCTAssertLessThanOrEqual(total.reduce(0, +), 10 << 20, "shipped models stay under 10 MB in all")
    }

    func testImageModelsClassifyAsStated() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cortex-shipped-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The first 1,000 test images, as an IDX set of their own.
        let test = try ImageDataset.load(directory: FashionMNIST.defaultDirectory, split: .test).subset(
            Array(0..<1_000))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for split in ["train", "t10k"] {
            try IDXArray(elementType: .uint8, shape: [test.count, test.height, test.width], bytes: test.pixels)
                .write(to: "\(folder)/\(split)-images-idx3-ubyte")
            try IDXArray(elementType: .uint8, shape: [test.count], bytes: test.labels.map(UInt8.init))
                .write(to: "\(folder)/\(split)-labels-idx1-ubyte")
        }
        for (name, floor) in [("lenet", 0.85), ("vit", 0.85)] {
            guard
                FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent("models/\(name).safetensors").path)
            else { continue }
            let json = try lastJSON(["eval", name, "--checkpoint", name, "--data", folder, "--json"])
            let accuracy = try XCTUnwrap(json["test_accuracy"] as? Double)
            XCTAssertGreaterThanOrEqual(accuracy, floor, "\(name) on 1,000 test images")
        }
    }

    func testBreakoutAgentBeatsRandomPlay() throws {
        // 28.4 measured over 100 episodes; random play scores about 0.5 an episode.
        let json = try lastJSON(["eval", "breakout", "--checkpoint", "breakout", "--episodes", "10", "--seed", "3", "--json"])
        XCTAssertGreaterThan(try XCTUnwrap(json["mean"] as? Double), 8, "ten seeded episodes at ε = 0.05")
    }

    func testGo9SearchBeatsRandomPlay() throws {
        // Its measured strength is against GnuGo (models/README.md); on a sample that stays fast,
        // the search over it (32 playouts a move) must win every game against the random player.
        try assertSearchBeatsRandomPlay(model: "go9", size: 9, playouts: 32, games: 4, margin: 20)
    }

    func testGo19SearchBeatsRandomPlay() throws {
        // As for go9, at 19×19 with 16 playouts a move (measured: +335 points on average).
        try assertSearchBeatsRandomPlay(model: "go19", size: 19, playouts: 16, games: 2, margin: 150)
    }

    /// `cortex match` of the shipped Go network's search against the random player: every game
    /// won, by more than `margin` points on average. The search passes when the count after dead
    /// stones come off is won, so GnuGo referees.
    private func assertSearchBeatsRandomPlay(
        model: String, size: Int, playouts: Int, games: Int, margin: Double, line: UInt = #line
    ) throws {
        guard
            let gnugo = ["/usr/games/gnugo", "/usr/bin/gnugo"].first(where: FileManager.default.isExecutableFile(atPath:))
        else { throw missingPrerequisite("gnugo is not installed (Debian package gnugo)") }
        let json = try lastJSON([
            "match", "--black", "cortex:\(model),playouts=\(playouts)", "--white", "random", "--games", "\(games)",
            "--size", "\(size)", "--seed", "1", "--threads", "1", "--referee", gnugo + " --mode gtp --chinese-rules",
            "--json"
        ])
        let engines = try XCTUnwrap(json["engines"] as? [[String: Any]], line: line)
        XCTAssertEqual(engines.first?["wins"] as? Double, Double(games), "\(json)", line: line)
        XCTAssertGreaterThan(engines.first?["avg_margin"] as? Double ?? 0, margin, "\(json)", line: line)
    }

    func testShakespeareGPTPredictsTheCorpus() throws {
        let corpus = Self.root.appendingPathComponent("data/shakespeare.txt").path
        guard FileManager.default.fileExists(atPath: corpus) else {
            throw missingPrerequisite("data/shakespeare.txt is absent (scripts/setup builds it)")
        }
        let json = try lastJSON([
            "eval", "text", "--checkpoint", "shakespeare-gpt", "--data", corpus, "--eval-batches", "20",
            "--json"
        ])
        // 1.87 measured over 200 batches; a uniform guess over 84 characters is ln 84 = 4.43.
        XCTAssertLessThan(try XCTUnwrap(json["val_loss"] as? Double), 2.0)
        let generated = try runCortex(["generate", "--checkpoint", "shakespeare-gpt", "--length", "200", "--seed", "0"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let words = generated.stdout.split { !$0.isLetter }.map { $0.lowercased() }
        let common: Set<String> = [
            "the", "and", "i", "to", "of", "you", "my", "a", "that", "in", "is", "not", "me", "it", "with"
        ]
        XCTAssertGreaterThanOrEqual(words.filter(common.contains).count, 5, "English words in: \(generated.stdout)")
    }
}
