import Foundation

/// A learning rate as a function of the optimizer step (0 for the first update).
/// Use: `optimizer.learningRate = schedule.learningRate(at: optimizer.stepCount)` before `step()`.
public protocol LRSchedule {
    func learningRate(at step: Int) -> Float
}

/// The same rate at every step.
public struct ConstantLR: LRSchedule {
    public var value: Float
    public init(_ value: Float) { self.value = value }
    public func learningRate(at step: Int) -> Float { value }
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

/// A straight line from `start` at step 0 to `end` at `steps`, then `end`: the decay of
/// PyTorch's `LinearLR` and of the DQN agents that anneal their rate over a run.
public struct LinearLR: LRSchedule {
    public var start: Float
    public var end: Float
    public var steps: Int

    public init(start: Float, end: Float, steps: Int) {
        precondition(steps > 0, "LinearLR: steps must be positive, got \(steps)")
        self.start = start
        self.end = end
        self.steps = steps
    }

    public func learningRate(at step: Int) -> Float {
        let progress = Float(min(steps, max(0, step))) / Float(steps)
        return start + (end - start) * progress
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
        precondition(warmupSteps >= 0 && decaySteps > warmupSteps,
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
