import Foundation

/// A learning rate as a function of the optimizer step (0 for the first update).
/// Use: `optimizer.learningRate = schedule.learningRate(at: optimizer.stepCount)` before `step()`.
public protocol LRSchedule {
    func learningRate(at step: Int) -> Float
}

/// The same rate at every step (what a PyTorch optimizer does with no scheduler).
public struct FixedLR: LRSchedule {
    public var rate: Float
    public init(_ rate: Float) { self.rate = rate }
    public func learningRate(at step: Int) -> Float { rate }
}

/// PyTorch's `ConstantLR`: the base rate times `factor` for the first `totalSteps` steps, then
/// the base rate.
public struct ConstantLR: LRSchedule {
    public var baseRate: Float
    public var factor: Float
    public var totalSteps: Int

    public init(baseRate: Float, factor: Float = 1.0 / 3, totalSteps: Int = 5) {
        precondition(totalSteps >= 0, "ConstantLR: totalSteps must not be negative, got \(totalSteps)")
        self.baseRate = baseRate
        self.factor = factor
        self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Float { step < totalSteps ? baseRate * factor : baseRate }
}

/// `initial · gamma^⌊step / stepSize⌋`, as PyTorch's `StepLR`.
public struct StepLR: LRSchedule {
    public var initial: Float
    public var stepSize: Int
    public var gamma: Float

    public init(initial: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "StepLR: stepSize must be positive, got \(stepSize)")
        self.initial = initial
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(at step: Int) -> Float {
        Float(Double(initial) * Foundation.pow(Double(gamma), Double(step / stepSize)))
    }
}

/// PyTorch's `LinearLR`: the base rate times a factor that moves in a straight line from
/// `startFactor` at step 0 to `endFactor` at `totalSteps`, and stays there:
/// `base · (startFactor + (endFactor − startFactor) · min(step, totalSteps) / totalSteps)`.
/// The DQN agents anneal their rate to a final value with it.
public struct LinearLR: LRSchedule {
    public var baseRate: Float
    public var startFactor: Float
    public var endFactor: Float
    public var totalSteps: Int

    public init(baseRate: Float, startFactor: Float = 1.0 / 3, endFactor: Float = 1, totalSteps: Int = 5) {
        precondition(totalSteps > 0, "LinearLR: totalSteps must be positive, got \(totalSteps)")
        self.baseRate = baseRate
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Float {
        let progress = Float(min(totalSteps, max(0, step))) / Float(totalSteps)
        return baseRate * (startFactor + (endFactor - startFactor) * progress)
    }
}

/// Linear warmup, then cosine decay to a floor: nanoGPT's `get_lr` (Karpathy 2022; cosine
/// from Loshchilov & Hutter 2017, SGDR).
///
/// - `step < warmupSteps`: `maximum · (step + 1) / (warmupSteps + 1)`;
/// - `step > decaySteps`: `minimum`;
/// - otherwise, with `r = (step − warmupSteps) / (decaySteps − warmupSteps)`:
///   `minimum + ½(1 + cos πr) · (maximum − minimum)`.
public struct WarmupCosineLR: LRSchedule {
    public var maximum: Float
    public var minimum: Float
    public var warmupSteps: Int
    public var decaySteps: Int

    public init(maximum: Float, minimum: Float, warmupSteps: Int, decaySteps: Int) {
        precondition(
            warmupSteps >= 0 && decaySteps > warmupSteps,
            "WarmupCosineLR: need 0 ≤ warmupSteps < decaySteps, got \(warmupSteps), \(decaySteps)")
        self.maximum = maximum
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.decaySteps = decaySteps
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return Float(Double(maximum) * Double(step + 1) / Double(warmupSteps + 1)) }
        if step > decaySteps { return minimum }
        let ratio = Double(step - warmupSteps) / Double(decaySteps - warmupSteps)
        let coefficient = 0.5 * (1 + Foundation.cos(Double.pi * ratio))
        return Float(Double(minimum) + coefficient * Double(maximum - minimum))
    }
}
