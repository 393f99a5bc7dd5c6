import Cortex
import CortexTestSupport
import XCTest

/// Optimizers on f(θ) = ½‖θ‖², whose gradient is θ itself, from θ₀ = (1, −2).
/// Expected values are worked by hand from PyTorch's documented update rules (arithmetic in
/// the comments; the long ones were also evaluated with plain Python floats).
final class OptimizerTests: XCTestCase {
    /// Runs `steps` updates of `makeOptimizer` on ½‖θ‖² and returns θ after each.
    private func trajectory(
        _ start: [Float] = [1, -2], steps: Int = 3,
        _ makeOptimizer: ([ParameterGroup]) -> Optimizer
    ) -> [[Float]] {
        let theta = Tensor(start, requiresGrad: true)
        let optimizer = makeOptimizer([ParameterGroup([("theta", theta)])])
        var result: [[Float]] = []
        for _ in 0..<steps {
            theta.grad = theta.copy()  // ∇ ½‖θ‖² = θ
            optimizer.step()
            optimizer.zeroGrad()
            result.append(theta.scalars)
        }
        return result
    }

    private func assertTrajectory(
        _ actual: [[Float]], _ expected: [[Float]], accuracy: Float = 1e-6,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (step, (a, e)) in zip(actual, expected).enumerated() {
            assertClose(a, e, accuracy: accuracy, "step \(step + 1)", file: file, line: line)
        }
    }

    func testPlainSGD() {
        // θ ← θ − 0.1θ = 0.9θ each step.
        assertTrajectory(
            trajectory { SGD($0, learningRate: 0.1) },
            [[0.9, -1.8], [0.81, -1.62], [0.729, -1.458]])
    }

    func testSGDMomentum() {
        // η = 0.1, μ = 0.9 (first component; the second is −2× it).
        // 1: g = 1,    b = g = 1,                 θ = 1 − 0.1·1 = 0.9
        // 2: g = 0.9,  b = 0.9·1 + 0.9 = 1.8,     θ = 0.9 − 0.18 = 0.72
        // 3: g = 0.72, b = 0.9·1.8 + 0.72 = 2.34, θ = 0.72 − 0.234 = 0.486
        assertTrajectory(
            trajectory { SGD($0, learningRate: 0.1, momentum: 0.9) },
            [[0.9, -1.8], [0.72, -1.44], [0.486, -0.972]])
    }

    func testSGDNesterov() {
        // η = 0.1, μ = 0.9, step uses g + μ·b.
        // 1: g = 1,      b = 1,                          g + μb = 1.9,      θ = 1 − 0.19 = 0.81
        // 2: g = 0.81,   b = 0.9 + 0.81 = 1.71,          g + μb = 2.349,    θ = 0.81 − 0.2349 = 0.5751
        // 3: g = 0.5751, b = 1.539 + 0.5751 = 2.1141,    g + μb = 2.47779,  θ = 0.5751 − 0.247779 = 0.327321
        assertTrajectory(
            trajectory { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true) },
            [[0.81, -1.62], [0.5751, -1.1502], [0.327321, -0.654642]])
    }

    func testSGDDampeningAndWeightDecay() {
        // η = 0.1, μ = 0.5, τ = 0.5, λ = 0.1: g = θ + 0.1θ = 1.1θ. The first step takes b = g undamped.
        // 1: g = 1.1,                 b = 1.1,                                θ = 1 − 0.11 = 0.89
        // 2: g = 1.1·0.89 = 0.979,    b = 0.5·1.1 + 0.5·0.979 = 1.0395,       θ = 0.89 − 0.10395 = 0.78605
        // 3: g = 1.1·0.78605 = 0.864655, b = 0.51975 + 0.4323275 = 0.9520775, θ = 0.78605 − 0.09520775 = 0.69084225
        assertTrajectory(
            trajectory([1]) { SGD($0, learningRate: 0.1, momentum: 0.5, dampening: 0.5, weightDecay: 0.1) },
            [[0.89], [0.78605], [0.69084225]])
    }

    func testAdam() {
        // η = 0.1, β = (0.9, 0.999), ε = 1e-8. First component:
        // 1: m = 0.1·1 = 0.1, v = 0.001·1 = 0.001; m̂ = 1, √v̂ = 1  ⇒ θ = 1 − 0.1·1/(1 + 1e-8) = 0.9
        // 2: g = 0.9: m = 0.1 + 0.1(0.9 − 0.1) = 0.18, v = 0.000999 + 0.00081 = 0.001809
        //    m̂ = 0.18/0.19 = 0.947368, √v̂ = √(0.001809/0.001999) = 0.951290
        //    θ = 0.9 − 0.1·0.947368/0.951290 = 0.9 − 0.0995877 = 0.8004123
        // 3: g = 0.8004123: m = 0.18 + 0.1(0.8004123 − 0.18) = 0.2420412,
        //    v = 0.999·0.001809 + 0.001·0.6406598 = 0.0024478,  1 − β₁³ = 0.271, 1 − β₂³ = 0.002997001
        //    θ = 0.8004123 − 0.1·(0.2420412/0.271)/√(0.0024478/0.002997001) = 0.7015863
        // Second component (g = −2, −1.9, …) by the same arithmetic.
        assertTrajectory(
            trajectory { Adam($0, learningRate: 0.1) },
            [[0.9, -1.9], [0.80041223, -1.80016649], [0.70158627, -1.70062339]])
    }

    /// Twenty elements go through the vector paths (AVX2 eight at a time where the CPU has it,
    /// then SSE, then scalars); each pair must follow the two-element path worked above.
    func testAdamVectorPathsMatchTheHandWorkedSteps() {
        func tiled(_ pair: [Float]) -> [Float] { Array((0..<10).map { _ in pair }.joined()) }
        let adam: [[Float]] = [[0.9, -1.9], [0.80041223, -1.80016649], [0.70158627, -1.70062339]]
        let adamW: [[Float]] = [[0.89, -1.88], [0.78157186, -1.76140895], [0.67510122, -1.64436868]]
        assertTrajectory(trajectory(tiled([1, -2])) { Adam($0, learningRate: 0.1) }, adam.map(tiled))
        assertTrajectory(
            trajectory(tiled([1, -2])) { AdamW($0, learningRate: 0.1, weightDecay: 0.1) },
            adamW.map(tiled), accuracy: 2e-6)
    }

    func testAdamL2WeightDecayDiffersFromAdamW() {
        // Adam with λ = 0.1 adds 0.1θ to the gradient: g = 1.1θ, and Adam is nearly scale-free,
        // so the path barely moves (9.1e-10 at step 1).
        assertTrajectory(
            trajectory { Adam($0, learningRate: 0.1, weightDecay: 0.1) },
            [[0.9, -1.9], [0.80041223, -1.80016649], [0.70158627, -1.70062339]])
        // AdamW shrinks θ by (1 − ηλ) = 0.99 before the Adam step:
        // 1: θ = 0.99·1 − 0.1 = 0.89;  second: 0.99·(−2) + 0.1 = −1.88
        // 2: θ = 0.99·0.89 − 0.1·m̂/√v̂ with g = 0.89: m = 0.1 + 0.1(0.89 − 0.1) = 0.179,
        //    v = 0.000999 + 0.001·0.7921 = 0.0017911, m̂ = 0.179/0.19 = 0.942105, √v̂ = √(0.0017911/0.001999) = 0.946585
        //    θ = 0.8811 − 0.0995267 = 0.7815733 (Python floats: 0.78157186)
        assertTrajectory(
            trajectory { AdamW($0, learningRate: 0.1, weightDecay: 0.1) },
            [[0.89, -1.88], [0.78157186, -1.76140895], [0.67510122, -1.64436868]], accuracy: 2e-6)
    }

    func testRMSprop() {
        // η = 0.01, α = 0.99: s = 0.01g², d = √s + ε = 0.1|g|, so step 1 moves θ by 0.01·g/(0.1|g|) = 0.1.
        // 2: g = 0.9: s = 0.99·0.01 + 0.01·0.81 = 0.018, d = 0.1341641, θ = 0.9 − 0.01·0.9/0.1341641 = 0.8329180
        // 3: g = 0.8329180: s = 0.01782 + 0.0069375 = 0.0247575, d = 0.1573452, θ = 0.8329180 − 0.0529357 = 0.7799823
        assertTrajectory(
            trajectory { RMSprop($0, learningRate: 0.01) },
            [[0.9, -1.9], [0.83291798, -1.83094333], [0.77998228, -1.77534945]])
    }

    func testRMSpropCenteredWithMomentum() {
        // η = 0.01, α = 0.9, μ = 0.5, centered.
        // 1: s = 0.1, ḡ = 0.1, d = √(0.1 − 0.01) = 0.3, b = 1/0.3 = 3.333333, θ = 1 − 0.0333333 = 0.9666667
        // 2: g = 0.9666667: s = 0.09 + 0.0934444 = 0.1834444, ḡ = 0.1 + 0.1(0.9666667 − 0.1) = 0.1866667,
        //    d = √(0.1834444 − 0.0348444) = 0.3854867, b = 1.6666667 + 2.5076540 = 4.1743207, θ = 0.9249235
        assertTrajectory(
            trajectory { RMSprop($0, learningRate: 0.01, alpha: 0.9, momentum: 0.5, centered: true) },
            [[0.96666667, -1.96666667], [0.92492348, -1.92471349], [0.88241837, -1.88166023]])
    }

    func testRMSpropGravesFormPutsEpsilonInsideTheRoot() {
        // Centered, α = 0.95, ε = 0.01 inside: step 1, g = 1: s = 0.05, ḡ = 0.05,
        // d = √(0.05 − 0.0025 + 0.01) = √0.0575 = 0.2397916, θ = 1 − 0.00025·1/0.2397916 = 0.99895743
        let path = trajectory([1], steps: 1) {
            RMSprop(
                $0, learningRate: 0.00025, alpha: 0.95, epsilon: 0.01, centered: true, epsilonInsideSquareRoot: true)
        }
        assertClose(path[0], [0.99895743], accuracy: 1e-7)
    }

    func testParameterWithoutGradientIsSkippedAndGroupsOverrideDecay() {
        let a = Tensor([1], requiresGrad: true), b = Tensor([1], requiresGrad: true),
            c = Tensor([1], requiresGrad: true)
        let optimizer = SGD(
            [
                ParameterGroup([("a", a)]),
                ParameterGroup([("b", b)], weightDecay: 0, learningRateScale: 2),
                ParameterGroup([("c", c)])
            ],
            learningRate: 0.1, weightDecay: 0.5)
        a.grad = Tensor([1])
        b.grad = Tensor([1])
        optimizer.step()
        // a: θ − 0.1·(1 + 0.5·1) = 0.85; b: θ − 0.2·1 = 0.8; c: no gradient, unchanged.
        assertClose(a.scalars + b.scalars + c.scalars, [0.85, 0.8, 1])
        XCTAssertNil(optimizer.state["c"])
        XCTAssertEqual(optimizer.state["a"]?.step, 1)
    }

    // MARK: clipping and schedules

    func testClipGradNorm() {
        let a = Tensor([0, 0], requiresGrad: true), b = Tensor([0], requiresGrad: true)
        a.grad = Tensor([3, 0])
        b.grad = Tensor([4])
        // Global norm √(9 + 16) = 5; scaled by 1/(5 + 1e-6).
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 1), 5, accuracy: 1e-6)
        assertClose(a.grad!.scalars + b.grad!.scalars, [0.6, 0, 0.8], accuracy: 1e-6)
        // Below the limit: unchanged; the norm is still returned.
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        assertClose(a.grad!.scalars + b.grad!.scalars, [0.6, 0, 0.8], accuracy: 1e-6)
    }

    func testSchedules() {
        XCTAssertEqual(FixedLR(0.3).learningRate(at: 12345), 0.3)
        // torch.optim.lr_scheduler.ConstantLR(opt with lr 0.3, factor=0.5, total_iters=4): 0.15 for
        // steps 0…3, then 0.3.
        let constant = ConstantLR(baseRate: 0.3, factor: 0.5, totalSteps: 4)
        XCTAssertEqual([0, 3, 4, 100].map { constant.learningRate(at: $0) }, [0.15, 0.15, 0.3, 0.3])
        XCTAssertEqual(ConstantLR(baseRate: 3).learningRate(at: 0), 1, accuracy: 1e-6, "PyTorch's default factor 1/3")
        let stepped = StepLR(initial: 1, stepSize: 10, gamma: 0.5)
        XCTAssertEqual(stepped.learningRate(at: 0), 1)
        XCTAssertEqual(stepped.learningRate(at: 9), 1)
        XCTAssertEqual(stepped.learningRate(at: 10), 0.5)
        XCTAssertEqual(stepped.learningRate(at: 35), 0.125)
        // torch.optim.lr_scheduler.LinearLR(opt with lr 1, start_factor=1, end_factor=0.2, total_iters=8).
        let linear = LinearLR(baseRate: 1, startFactor: 1, endFactor: 0.2, totalSteps: 8)
        XCTAssertEqual(linear.learningRate(at: -3), 1)  // before the start: start
        XCTAssertEqual(linear.learningRate(at: 0), 1)
        XCTAssertEqual(linear.learningRate(at: 2), 0.8, accuracy: 1e-7)  // 1 − 0.8·2/8
        XCTAssertEqual(linear.learningRate(at: 8), 0.2, accuracy: 1e-7)
        XCTAssertEqual(linear.learningRate(at: 50), 0.2, accuracy: 1e-7)  // past the end: end
        // nanoGPT's get_lr with max 1, min 0.1, warmup 4, decay until 14:
        let cosine = WarmupCosineLR(maximum: 1, minimum: 0.1, warmupSteps: 4, decaySteps: 14)
        XCTAssertEqual(cosine.learningRate(at: 0), 0.2, accuracy: 1e-7)  // 1·(0+1)/(4+1)
        XCTAssertEqual(cosine.learningRate(at: 3), 0.8, accuracy: 1e-7)  // 1·4/5
        XCTAssertEqual(cosine.learningRate(at: 4), 1, accuracy: 1e-7)  // r = 0, coefficient 1
        XCTAssertEqual(cosine.learningRate(at: 9), 0.55, accuracy: 1e-7)  // r = ½: 0.1 + ½·0.9
        XCTAssertEqual(cosine.learningRate(at: 14), 0.1, accuracy: 1e-7)  // r = 1
        XCTAssertEqual(cosine.learningRate(at: 100), 0.1)  // past decay: floor
        // r = 0.25: 0.1 + ½(1 + cos(π/4))·0.9 = 0.1 + 0.853553·0.9 = 0.868198
        XCTAssertEqual(
            WarmupCosineLR(maximum: 1, minimum: 0.1, warmupSteps: 0, decaySteps: 4).learningRate(at: 1),
            0.8681981, accuracy: 1e-6)
    }

    func testWeightDecayGroupsSplitByRank() {
        final class Toy: Module {
            var isTraining = true
            let weight = Tensor.zeros([2, 3], requiresGrad: true)
            let bias = Tensor.zeros([2], requiresGrad: true)
            var localParameters: [NamedTensor] { [("weight", weight), ("bias", bias)] }
        }
        let groups = Toy().weightDecayGroups(weightDecay: 0.1)
        XCTAssertEqual(groups.map { $0.parameters.map(\.name) }, [["weight"], ["bias"]])
        XCTAssertEqual(groups.map(\.weightDecay), [0.1, 0])
    }

    // MARK: state round trip

    /// Runs Adam for 5 steps in one go, and for 2 + 3 steps with a save/load of the optimizer
    /// state into a fresh optimizer in between: the parameters must end bit-identical.
    func testStateRoundTripResumesExactly() throws {
        func makeOptimizer(_ groups: [ParameterGroup]) -> Optimizer {
            AdamW(groups, learningRate: 0.05, weightDecay: 0.1)
        }
        func steps(_ optimizer: Optimizer, _ theta: Tensor, _ n: Int) {
            for _ in 0..<n {
                theta.grad = theta.copy()
                optimizer.step()
            }
        }
        let straight = Tensor([1, -2, 3], requiresGrad: true)
        steps(makeOptimizer([ParameterGroup([("w", straight)])]), straight, 5)

        let resumed = Tensor([1, -2, 3], requiresGrad: true)
        let first = makeOptimizer([ParameterGroup([("w", resumed)])])
        steps(first, resumed, 2)
        let saved = first.stateDict()
        XCTAssertEqual(Set(saved.tensors.keys), ["w.exp_avg", "w.exp_avg_sq"])
        XCTAssertEqual(saved.scalars["w.step"], 2)
        let second = makeOptimizer([ParameterGroup([("w", resumed)])])
        try second.loadStateDict(saved)
        XCTAssertEqual(second.stepCount, 2)
        steps(second, resumed, 3)
        XCTAssertEqual(resumed.scalars, straight.scalars)
    }

    func testLoadingStateForOtherParametersFails() {
        let optimizer = SGD([ParameterGroup([("w", Tensor([1, 2]))])], learningRate: 0.1, momentum: 0.9)
        let state = OptimizerState(tensors: ["w.momentum_buffer": Tensor([1, 2, 3]), "v.momentum_buffer": Tensor([1])])
        XCTAssertThrowsError(try optimizer.loadStateDict(state)) { error in
            XCTAssertEqual(
                "\(error)",
                "checkpoint does not fit the model: unexpected 1: optimizer.v.momentum_buffer; "
                    + "shape mismatch 1: optimizer.w.momentum_buffer expects [2] but file has [3]")
        }
    }
}
