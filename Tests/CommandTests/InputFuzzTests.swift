import Cortex
import CortexTestSupport
import Data
import Envs
import Foundation
import XCTest

/// Seeded mutations of every input format Cortex reads, through the same entry points the
/// commands use, in process (a crash would end the test run): pictures, IDX sets, text corpora,
/// SGF records and GTP command lines. Each case either reads or throws. CI runs a fixed corpus;
/// `scripts/fuzz` runs longer from other seeds (`FuzzBudget`).
final class InputFuzzTests: XCTestCase {
    private let budget = FuzzBudget(defaultSeed: 2026)
    private lazy var generator = RandomGenerator(seed: budget.seed)

    /// Flips, overwrites with 0/255, truncates or duplicates bytes of `bytes`.
    private func mutate(_ bytes: [UInt8], protect: Int = 0) -> [UInt8] {
        var out = bytes
        switch generator.nextInt(below: 4) {
        case 0:
            for _ in 0...generator.nextInt(below: 4) where out.count > protect {
                out[protect + generator.nextInt(below: out.count - protect)] ^= UInt8(1 + generator.nextInt(below: 255))
            }
        case 1:
            for _ in 0...generator.nextInt(below: 4) where out.count > protect {
                out[protect + generator.nextInt(below: out.count - protect)] =
                    generator.nextInt(below: 2) == 0 ? 0 : 255
            }
        case 2: out = Array(out.prefix(generator.nextInt(below: out.count + 1)))
        default:
            let at = generator.nextInt(below: out.count + 1)
            out.insert(contentsOf: out.prefix(generator.nextInt(below: 64)), at: at)
        }
        return out
    }

    private var folder: String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-input-fuzz").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func testPicturesReadOrThrow() throws {
        var picture = PixelImage(width: 9, height: 7, fill: [10, 200, 30])
        for i in 0..<picture.pixels.count { picture.pixels[i] = UInt8(i * 37 % 256) }
        var outcomes = [0, 0]
        var bytes: [[UInt8]] = []
        for format in ["png", "ppm", "pgm"] {
            let path = folder + "/fuzz." + format
            try (format == "pgm" ? picture.grayscale() : picture).write(to: path)
            bytes.append(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        }
        // Formats in turn: CI's 400 cases of each, then more while the budget lasts.
        var index = 0
        while budget.runs(index, minimum: 1_200) {
            let format = index < 1_200 ? index / 400 : index % 3
            let path = folder + "/fuzz." + ["png", "ppm", "pgm"][format]
            try Data(mutate(bytes[format])).write(to: URL(fileURLWithPath: path))
            do {
                _ = try PixelImage.read(path: path)
                outcomes[0] += 1
            } catch is DataError {
                outcomes[1] += 1
            } catch {
                XCTFail("\(budget.label(index)): \(error)")
            }
            index += 1
        }
        budget.report("pictures", cases: index)
        XCTAssertGreaterThan(outcomes[1], 100, "most mutations are refused: \(outcomes)")
    }

    func testIDXSetsReadOrThrow() throws {
        let images = IDXArray(elementType: .uint8, shape: [3, 4, 4], bytes: (0..<48).map { UInt8($0) })
        let labels = IDXArray(elementType: .uint8, shape: [3], bytes: [0, 1, 2])
        try labels.write(to: folder + "/labels")
        var index = 0
        while budget.runs(index, minimum: 600) {
            try Data(mutate(images.encoded())).write(to: URL(fileURLWithPath: folder + "/images"))
            do {
                _ = try ImageDataset.idx(imagesPath: folder + "/images", labelsPath: folder + "/labels")
            } catch is DataError {
            } catch {
                XCTFail("\(budget.label(index)): \(error)")
            }
            index += 1
        }
        budget.report("IDX sets", cases: index)
    }

    func testCorporaReadOrThrow() throws {
        let text = Array("To be, or not to be: that is the question. Ünïcødé ✓\n".utf8)
        var index = 0
        while budget.runs(index, minimum: 400) {
            try Data(mutate(text)).write(to: URL(fileURLWithPath: folder + "/corpus.txt"))
            do {
                _ = try CharCorpus(path: folder + "/corpus.txt")
            } catch is DataError {
            } catch {
                XCTFail("\(budget.label(index)): \(error)")
            }
            index += 1
        }
        budget.report("corpora", cases: index)
    }

    func testSGFRecordsParseOrThrow() throws {
        let record = "(;GM[1]FF[4]SZ[9]KM[7.5]RU[Chinese]PB[a]PW[b];B[ee];W[dc];B[cd]C[a comment];W[]AB[aa][bb];B[tt])"
        var index = 0
        while budget.runs(index, minimum: 1_500) {
            let mutated = String(decoding: mutate(Array(record.utf8)), as: UTF8.self)
            _ = try? SGF.parse(mutated)
            index += 1
        }
        budget.report("SGF records", cases: index)
    }

    func testGTPLinesAlwaysGetAnAnswer() {
        let engine = GTPEngine(size: 9, generator: GoRandomPlayer(seed: 1))
        let lines = [
            "boardsize 9", "clear_board", "play b e5", "genmove w", "komi 6.5", "undo", "showboard", "final_score",
            "list_commands", "loadsgf x.sgf", "fixed_handicap 4", "play w pass", "time_settings 10 5 1"
        ]
        var answered = 0
        var index = 0
        while budget.runs(index, minimum: 3_000) {
            let base = Array(lines[generator.nextInt(below: lines.count)].utf8)
            let line = String(decoding: mutate(base), as: UTF8.self)
            if let response = engine.respond(to: line) {
                XCTAssertTrue(
                    response.hasPrefix("=") || response.hasPrefix("?"),
                    "\(budget.label(index)): '\(line)' → '\(response)'")
                answered += 1
            }
            index += 1
        }
        budget.report("GTP lines", cases: index)
        XCTAssertGreaterThan(answered, index * 2 / 3)
    }
}
