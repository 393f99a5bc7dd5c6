/// MT19937 (Matsumoto & Nishimura 1998) with NumPy's legacy `RandomState` draws on top, so a
/// game seeded like MinAtar's (`np.random.RandomState(seed)`) draws the very same numbers and a
/// recorded MinAtar episode can be replayed exactly.
///
/// - `nextDouble()` is `RandomState.rand()`: `(a >> 5 · 2²⁶ + b >> 6) / 2⁵³` from two 32-bit words.
/// - `nextInt(below: n)` is `RandomState.randint(n)`: masked rejection, `w & mask` until `≤ n − 1`,
///   with `mask` the smallest `2ᵏ − 1 ≥ n − 1` (no draw at all when `n == 1`).
/// - `nextInt(low:high:)` is `randint(low, high)`.
public struct MersenneTwister: Sendable {
    private var state: [UInt32]
    private var index: Int

    /// Seeds like `np.random.RandomState(seed)` (`init_genrand`).
    public init(seed: UInt32) {
        var mt = [UInt32](repeating: 0, count: 624)
        mt[0] = seed
        for i in 1..<624 {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
        state = mt
        index = 624
    }

    /// Seeds from a 64-bit seed: seeds below 2³² are used as they are (NumPy-compatible), larger
    /// ones are folded to 32 bits.
    public init(seed: UInt64) {
        self.init(seed: seed <= UInt64(UInt32.max) ? UInt32(seed) : UInt32(truncatingIfNeeded: seed ^ (seed >> 32)))
    }

    /// The next 32-bit output (`genrand_int32`).
    public mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { mt in
            for i in 0..<624 {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7FFF_FFFF)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
            }
        }
        index = 0
    }

    /// A uniform double in [0, 1) with 53 random bits (`RandomState.rand()`).
    public mutating func nextDouble() -> Double {
        let a = Double(next() >> 5), b = Double(next() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A uniform integer in `0..<n` (`RandomState.randint(n)`), n ≥ 1.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n >= 1 && n <= Int(UInt32.max), "MersenneTwister.nextInt(below:): n = \(n) outside 1...2³²−1")
        let range = UInt32(n - 1)
        if range == 0 { return 0 }
        var mask = range
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while true {
            let value = next() & mask
            if value <= range { return Int(value) }
        }
    }

    /// A uniform integer in `low..<high` (`RandomState.randint(low, high)`).
    public mutating func nextInt(low: Int, high: Int) -> Int {
        precondition(high > low, "MersenneTwister.nextInt(low:high:): empty range \(low)..<\(high)")
        return low + nextInt(below: high - low)
    }
}
