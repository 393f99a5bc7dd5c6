import Cortex

/// ε-greedy exploration (Sutton & Barto 2018, §2.2), shared by every value-based agent: with
/// probability ε a uniformly random action, otherwise the greedy one.
///
/// One uniform draw decides whether to explore and, when it does, one more picks the action,
/// so a seeded generator gives the same actions whichever agent calls it.
public enum EpsilonGreedy {
    /// Whether to explore at this step (draws only when ε > 0).
    @inlinable
    public static func explores(_ epsilon: Float, generator: inout RandomGenerator) -> Bool {
        epsilon > 0 && generator.nextFloat() < epsilon
    }

    /// A uniformly random action with probability ε, else `greedy()`.
    @inlinable
    public static func action(
        epsilon: Float, actionCount: Int, generator: inout RandomGenerator,
        greedy: () -> Int
    ) -> Int {
        if explores(epsilon, generator: &generator) { return generator.nextInt(below: actionCount) }
        return greedy()
    }

    /// ε after `step` steps of a linear decay from `start` to `end` over `decaySteps` steps
    /// that begins after `delay` steps (1 before it: pure exploration while the buffer fills).
    public static func linear(step: Int, start: Float, end: Float, decaySteps: Int, delay: Int = 0) -> Float {
        if step < delay { return 1 }
        let progress = min(1, Float(step - delay) / Float(max(1, decaySteps)))
        return start + (end - start) * progress
    }

    /// Index of the largest value, the first on ties.
    @inlinable
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    @inlinable
    public static func argmax(_ values: [Float]) -> Int { values.withUnsafeBufferPointer { argmax($0) } }
}
