import Envs
import XCTest

final class MersenneTwisterTests: XCTestCase {
    /// MT19937's published first outputs for `init_genrand(5489)`; NumPy agrees:
    /// `np.random.RandomState(5489).randint(0, 2**32, 3, dtype=np.uint64)`.
    func testRawOutputsMatchReference() {
        var random = MersenneTwister(seed: UInt32(5489))
        XCTAssertEqual([random.next(), random.next(), random.next()], [3_499_211_612, 581_869_302, 3_890_346_734])
    }

    /// Reference from NumPy 2.4.6:
    /// ```
    /// r = np.random.RandomState(7)
    /// [r.randint(2) for _ in range(5)], r.rand(), r.randint(1, 9), r.randint(1, 6, 8), r.rand(3), r.randint(1000), r.randint(3)
    /// ```
    func testDrawsMatchNumPyRandomState() {
        var random = MersenneTwister(seed: UInt64(7))
        XCTAssertEqual((0..<5).map { _ in random.nextInt(below: 2) }, [1, 0, 1, 0, 1])
        XCTAssertEqual(random.nextDouble(), 0.9782228970785825)
        XCTAssertEqual(random.nextInt(low: 1, high: 9), 8)
        XCTAssertEqual((0..<8).map { _ in random.nextInt(low: 1, high: 6) }, [5, 2, 1, 2, 3, 3, 1, 5])
        XCTAssertEqual(
            [random.nextDouble(), random.nextDouble(), random.nextDouble()],
            [0.8688014582078086, 0.3308392493496919, 0.39294230987084167])
        XCTAssertEqual(random.nextInt(below: 1000), 823)
        XCTAssertEqual(random.nextInt(below: 3), 2)
    }
}
