import Envs
import XCTest

/// Rules of the other four games on hand-built states, expected values worked out by hand from
/// MinAtar's sources (the fixture replays cover whole episodes).
final class GameRuleTests: XCTestCase {
    func testSpaceInvadersShotAlienAndANewFasterWave() {
        var game = SpaceInvaders()
        game.aliens = cellBit(2, 5)
        game.friendlyBullets = cellBit(3, 5)
        game.alienMoveTimer = 5
        game.alienShotTimer = 5
        let result = game.step(0)
        XCTAssertEqual(result.reward, 1, "the bullet rises into the alien's cell")
        XCTAssertEqual(game.friendlyBullets, 0)
        XCTAssertEqual(game.aliens, SpaceInvaders.initialAliens, "a cleared wave respawns")
        XCTAssertEqual(SpaceInvaders.initialAliens.nonzeroBitCount, 24)
        XCTAssertEqual([game.moveInterval, game.rampIndex], [11, 1], "and moves one tick faster")
    }

    func testSpaceInvadersFireAndCooldown() {
        var game = SpaceInvaders()
        _ = game.step(3)  // fire
        XCTAssertEqual(game.friendlyBullets, cellBit(8, 5), "fired from row 9, risen to row 8")
        XCTAssertEqual(game.shotTimer, 4)
        _ = game.step(3)  // cooling down: no new bullet
        XCTAssertEqual(game.friendlyBullets, cellBit(7, 5))
    }

    func testSpaceInvadersAlienReachingTheCannonTerminates() {
        var game = SpaceInvaders()
        game.aliens = cellBit(9, 5)
        game.alienMoveTimer = 5
        XCTAssertTrue(game.step(0).terminated)
    }

    func testFreewayCrossingScoresAndRestartsAtTheBottom() {
        var game = Freeway(seed: 1)
        for i in 0..<8 {
            game.cars[i].x = 0
            game.cars[i].timer = 5
        }
        game.position = 1
        game.moveTimer = 0
        let result = game.step(1)  // up
        XCTAssertEqual(result.reward, 1)
        XCTAssertEqual(game.position, 9)
        XCTAssertTrue(
            game.cars.allSatisfy { $0.timer == abs($0.speed) - 1 && (1...5).contains(abs($0.speed)) },
            "speeds re-drawn, timers restarted (and counted down once this step)")
        XCTAssertEqual(game.moveTimer, 2, "3, less the step just taken")
        _ = game.step(1)
        XCTAssertEqual(game.position, 9, "the chicken moves at most every 3 steps")
    }

    func testFreewayCarHitSendsTheChickenBack() {
        var game = Freeway(seed: 1)
        game.position = 5
        game.cars[4] = Freeway.Car(x: 3, y: 5, timer: 0, speed: 2)  // moves onto column 4 this step
        _ = game.step(0)
        XCTAssertEqual(game.position, 9)
    }

    func testAsterixGoldAndEnemies() {
        var game = Asterix()
        game.entities[4] = Asterix.Entity(x: 4, y: 5, movingRight: true, isGold: true)
        XCTAssertEqual(game.step(1).reward, 1, "walking left onto gold")
        XCTAssertNil(game.entities[4])
        var other = Asterix()
        other.entities[4] = Asterix.Entity(x: 4, y: 5, movingRight: true, isGold: false)
        XCTAssertTrue(other.step(1).terminated, "walking onto an enemy")
    }

    func testSeaquestSurfacing() {
        var empty = Seaquest()
        empty.subY = 1
        empty.surface = false
        XCTAssertTrue(empty.step(2).terminated, "surfacing with no diver ends the game")

        var one = Seaquest()
        one.subY = 1
        one.surface = false
        one.diverCount = 1
        one.oxygen = 50
        let result = one.step(2)
        XCTAssertFalse(result.terminated)
        XCTAssertEqual(result.reward, 0)
        XCTAssertEqual([one.oxygen, one.diverCount, one.rampIndex], [200, 0, 1])

        var full = Seaquest()
        full.subY = 1
        full.surface = false
        full.diverCount = 6
        full.oxygen = 100
        XCTAssertEqual(full.step(2).reward, 5, "oxygen 100 · 10 / 200")
        XCTAssertEqual(full.diverCount, -1, "MinAtar empties the boat, then removes one more")
    }

    func testSeaquestOxygenRunsOut() {
        var game = Seaquest()
        game.subY = 5
        game.surface = false
        game.oxygen = 0
        XCTAssertTrue(game.step(0).terminated)
    }
}
