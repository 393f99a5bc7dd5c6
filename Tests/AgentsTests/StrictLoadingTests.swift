import Agents
import Cortex
import Foundation
import XCTest

/// A checkpoint that lacks a network weight, or carries a tensor the network does not have,
/// is refused with the tensor's name instead of playing on with random weights.
final class StrictLoadingTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent("cortex-strict-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// Writes `path` again without the tensor `removed` and with `added` (when given).
    private func rewrite(_ path: String, removing removed: String, adding added: String? = nil) throws -> String {
        var file = try SafeTensors.read(from: path)
        XCTAssertTrue(file.tensors.contains { $0.name == removed }, "\(removed) is in the checkpoint")
        file.tensors.removeAll { $0.name == removed }
        if let added { file.tensors.append((added, Tensor(shape: [2], data: [1, 2]))) }
        let out = path + ".edited.safetensors"
        try file.write(to: out)
        return out
    }

    func testDQNCheckpointMissingAWeightIsRefused() throws {
        var config = DQNConfig()
        config.game = "breakout"
        let agent = DQNAgent(config: config, observationShape: [4, 10, 10], actionCount: 3)
        let path = folder + "/dqn.safetensors"
        try DQNCheckpoint.save(agent: agent, state: DQNTrainingState(seed: 0), to: path)
        XCTAssertNoThrow(try DQNCheckpoint.loadNetwork(path), "the untouched file loads")
        let missing = try rewrite(path, removing: "conv.weight")
        XCTAssertThrowsError(try DQNCheckpoint.loadNetwork(missing)) {
            XCTAssertTrue("\($0)".contains("conv.weight"), "\($0)")
        }
        // The target network's tensors are not needed to play.
        XCTAssertNoThrow(try DQNCheckpoint.loadNetwork(try rewrite(path, removing: "target.conv.weight")))
        let extra = try rewrite(path, removing: "output.bias", adding: "surprise.weight")
        XCTAssertThrowsError(try DQNCheckpoint.loadNetwork(extra)) { error in
            XCTAssertTrue("\(error)".contains("output.bias") && "\(error)".contains("surprise.weight"), "\(error)")
        }
    }

    func testGoCheckpointMissingAWeightIsRefused() throws {
        var config = GoDQNConfig()
        config.size = 5
        config.channels = 8
        config.layers = 2
        let agent = GoDQNAgent(config: config)
        let path = folder + "/go.safetensors"
        try GoDQNCheckpoint.save(agent: agent, state: GoTrainingState(seed: 0), to: path)
        XCTAssertNoThrow(try GoDQNCheckpoint.loadNetwork(path))
        let missing = try rewrite(path, removing: "conv1.weight")
        XCTAssertThrowsError(try GoDQNCheckpoint.loadNetwork(missing)) {
            XCTAssertTrue("\($0)".contains("conv1.weight"), "\($0)")
        }
    }
}
