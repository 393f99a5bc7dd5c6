import Envs
import XCTest

/// Replays episodes of MinAtar 1.0.15's Space Invaders, Freeway, Asterix and Seaquest recorded by
/// `scripts/record_minatar.py`. The games draw from a NumPy-compatible MT19937 seeded like
/// MinAtar's `RandomState(seed)`, so every spawn, car speed and side is the same; after every step
/// the test compares the reward, the terminal flag, the difficulty ramp, a hash of the full
/// C × 10 × 10 state planes (and for Seaquest the exact oxygen and diver count).
final class MinAtarReplayTests: XCTestCase {
    /// The top 48 bits of FNV-1a 64 over the planes as bytes, channel-major, as the script computes.
    static func stateHash<G: MinAtarGame>(_ game: G) -> String {
        var bytes = [UInt8](repeating: 0, count: G.channelNames.count * 100)
        bytes.withUnsafeMutableBufferPointer { game.writeGrid(into: $0) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h >> 16, radix: 16)
        return String(repeating: "0", count: 12 - hex.count) + hex
    }

    func replay<G: MinAtarGame>(
        _ file: String, make: (UInt64) -> G, ramp: (G) -> Int,
        extra: (G) -> [Int] = { _ in [] }
    ) throws {
        let episodes = try Fixtures.jsonLines(file)
        XCTAssertGreaterThanOrEqual(episodes.count, 3, file)
        for episode in episodes {
            let seed = try XCTUnwrap(episode["seed"] as? Int)
            let steps = try XCTUnwrap(episode["steps"] as? [[Any]])
            var game = make(UInt64(seed))
            XCTAssertEqual(Self.stateHash(game), episode["start_hash"] as? String, "\(file) seed \(seed) start")
            for (t, entry) in steps.enumerated() {
                let numbers = entry.compactMap { ($0 as? NSNumber)?.intValue }
                let hash = try XCTUnwrap(entry[3] as? String)
                let action = try XCTUnwrap(MinAtarAction(rawValue: numbers[0]))
                let result = game.act(action)
                let expected = [numbers[1], numbers[2]] + Array(numbers[3...])
                let got = [Int(result.reward), result.terminated ? 1 : 0, ramp(game)] + extra(game)
                if got != expected || Self.stateHash(game) != hash {
                    XCTFail(
                        "\(file) seed \(seed) step \(t) action \(action): expected \(expected) \(hash), got \(got) \(Self.stateHash(game))"
                    )
                    return
                }
            }
            XCTAssertEqual(game.isDone, (steps.last?[2] as? NSNumber)?.intValue == 1)
        }
    }

    func testSpaceInvaders() throws {
        try replay("minatar-space_invaders-trajectories.jsonl", make: { SpaceInvaders(seed: $0) }, ramp: \.rampIndex)
    }

    func testFreeway() throws {
        try replay("minatar-freeway-trajectories.jsonl", make: { Freeway(seed: $0) }, ramp: { _ in -1 })
    }

    func testAsterix() throws {
        try replay("minatar-asterix-trajectories.jsonl", make: { Asterix(seed: $0) }, ramp: \.rampIndex)
    }

    func testSeaquest() throws {
        try replay(
            "minatar-seaquest-trajectories.jsonl", make: { Seaquest(seed: $0) }, ramp: \.rampIndex,
            extra: { [$0.oxygen, $0.diverCount] })
    }
}
