import Agents
import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// Per-game presets are data: each game's config is the defaults with its table row written
/// over them, the logged config names the preset, and a flag changes exactly one field.
final class PresetTests: XCTestCase {
    private func dictionary(_ config: DQNConfig) throws -> [String: NSObject] {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: NSObject]
        return try XCTUnwrap(object)
    }

    /// The fields whose values differ between two configs (a field missing on one side counts).
    private func differingFields(_ a: [String: NSObject], _ b: [String: NSObject]) -> Set<String> {
        Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }
    }

    func testEachGameIsTheDefaultsWithItsRow() throws {
        let table = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(DQNConfig.presetTable.utf8)) as? [String: [String: NSObject]])
        XCTAssertEqual(Set(table.keys), ["breakout", "space_invaders", "freeway", "asterix", "seaquest"])
        for (game, row) in table {
            let preset = try dictionary(DQNConfig.preset(for: game))
            var defaults = DQNConfig()
            defaults.game = game
            let plain = try dictionary(defaults)
            XCTAssertEqual(differingFields(preset, plain), Set(row.keys).union(["preset"]), game)
            for (field, value) in row { XCTAssertEqual(preset[field], value, "\(game).\(field)") }
            XCTAssertEqual(preset["preset"], game as NSString)
        }
        // Breakout's row is the measured 3-step + prioritized + falling-rate agent.
        let breakout = DQNConfig.preset(for: "breakout")
        XCTAssertEqual(breakout.nSteps, 3)
        XCTAssertTrue(breakout.prioritized)
        XCTAssertEqual(breakout.finalLearningRate, 0)
        XCTAssertEqual(DQNConfig.preset(for: "freeway").nSteps, 1)
        XCTAssertNil(DQNConfig.preset(for: "no_such_game").preset)
    }

    /// `cortex train breakout` logs its preset, and one more flag changes exactly its field.
    func testLoggedConfigIsThePresetAndAFlagOverridesOneField() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-preset-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = [
            "train", "breakout", "--algo", "dqn", "--frames", "300", "--learning-starts", "100", "--replay", "200",
            "--batch", "8",
            "--eval-every", "0", "--threads", "1"
        ]
        func logged(_ extra: [String], _ name: String) throws -> [String: NSObject] {
            let result = try runCortex(base + extra + ["--out", folder + "/" + name])
            XCTAssertEqual(result.status, 0, result.stderr)
            let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + "/config.json"))
            return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: NSObject])
        }
        let plain = try logged([], "a")
        var expected = DQNConfig.preset(for: "breakout")
        expected.frames = 300
        expected.learningStarts = 100
        expected.replayCapacity = 200
        expected.batchSize = 8
        expected.evalEvery = 0
        expected.checkpointEvery = 75
        XCTAssertEqual(differingFields(plain, try dictionary(expected)), [])
        let oneStep = try logged(["--n-steps", "1"], "b")
        XCTAssertEqual(differingFields(plain, oneStep), ["nSteps"])
        let rmsprop = try logged(["--optimizer", "rmsprop"], "c")
        XCTAssertEqual(differingFields(plain, rmsprop), ["optimizer", "learningRate"])
        XCTAssertEqual(rmsprop["learningRate"] as? Double ?? 0, 2.5e-4, accuracy: 1e-9)
        // Replaying the logged config gives the same config.
        let replayed = try logged(["--config", folder + "/b/config.json"], "d")
        XCTAssertEqual(differingFields(replayed, oneStep), [])
    }

    /// A flag of the other algorithm is refused in one line, not silently ignored.
    func testAFlagOfTheOtherAlgorithmIsRefused() throws {
        for (arguments, named) in [
            (["train", "breakout", "--replay", "200", "--frames", "64"], "--replay applies to --algo dqn only"),
            (["train", "breakout", "--batch", "8", "--dueling"], "--batch, --dueling apply to --algo dqn only"),
            (["train", "breakout", "--algo", "dqn", "--envs", "8"], "--envs applies to --algo pqn only")
        ] {
            let result = try runCortex(arguments)
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(named), result.stderr)
        }
    }
}
