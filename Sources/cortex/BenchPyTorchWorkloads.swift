import Agents
import Cortex
import Envs
import Foundation
import Models
import Recipes

/// One workload of `cortex bench pytorch`: Cortex's side here, PyTorch's in
/// `scripts/reference/bench.py` under the same name, with the same shapes, ops and optimizer.
/// `--quick` shrinks every batch to 2 (matmul to 64) and both sides do so alike.
struct SideBySideWorkload {
    let name: String
    /// What one timed call is, as printed in the table.
    let unit: String
    let warmup: Int
    let repeats: Int
    /// Batches in a 60,000-image epoch (batch 128) for the training workloads with an epoch estimate.
    var epochBatches: Int? = nil
    /// Builds the workload and returns one call (state such as an optimizer's persists between calls).
    let make: (_ quick: Bool, _ generator: inout RandomGenerator) -> () -> Void

    /// Warm-up and timed calls of one round (`--quick`: 1 and 2; `--repeats` replaces the count).
    func counts(quick: Bool, repeats override: Int?) -> (warmup: Int, repeats: Int) {
        quick ? (1, override ?? 2) : (warmup, override ?? repeats)
    }

    /// Seconds each side keeps warming up past its warm-up calls (none with `--quick`). Both
    /// sides start every round in a fresh state (PyTorch a new process, Cortex a new model after
    /// the other side ran): with three warm-up calls the LeNet batch's one-thread median of 10
    /// calls was 8.5–9.0 ms in some processes and 10.5–10.8 ms in others, 8.8–9.0 ms in every one
    /// with 30. The training workloads also time about a second of calls a round: the GPT
    /// iteration's two-thread median of 10 calls after this warm-up was 30 or 45 ms, of 40 calls
    /// 29.3–30.8 ms in five runs (docs/speed.md).
    static func warmupSeconds(quick: Bool) -> Double { quick ? 0 : 0.5 }

    /// Units per call (characters for generation), so the table shows ms per unit.
    func units(quick: Bool) -> Double {
        switch name {
        case "gpt-generate": Double(quick ? 7 : 63)
        case "dqn-loop": Double(quick ? dqnLoopQuickFrames : dqnLoopFrames)
        default: 1
        }
    }

    /// One Cortex round: median ms of `repeats` calls after `warmup` untimed ones (and at least
    /// `warmupSeconds` of them). The MinAtar DQN
    /// update and the LeNet batch run as `cortex train` runs them (one-thread GEMMs, Cortex's own
    /// workers for the convolutions and side-by-side passes).
    func timeCortex(quick: Bool, threads: Int, seed: UInt64, warmup: Int, repeats: Int) -> Double {
        Runtime.configure(threads: threads, smallMatrices: ["dqn-minatar", "dqn-loop", "lenet-train"].contains(name))
        defer { Runtime.configure(threads: threads) }
        var generator = RandomGenerator(seed: seed)
        let call = make(quick, &generator)
        let warmupEnd = DispatchTime.now().uptimeNanoseconds + UInt64(Self.warmupSeconds(quick: quick) * 1e9)
        var calls = 0
        while calls < warmup || DispatchTime.now().uptimeNanoseconds < warmupEnd {
            call()
            calls += 1
        }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            call()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return SideBySide.median(times)
    }

    static let all: [SideBySideWorkload] =
        [256, 512, 1024, 2048].map(matmulWorkload) + [
            dqnWorkload(nature: false), dqnWorkload(nature: true), dqnLoop, natureForward,
            SideBySideWorkload(
                name: "gpt-train", unit: "GPT 4×128 iteration, batch 12×64, AdamW", warmup: 2, repeats: 40,
                make: gptTraining),
            SideBySideWorkload(
                name: "lstm-train", unit: "LSTM 2×256 iteration, batch 32×64, Adam", warmup: 2, repeats: 10,
                make: lstmTraining),
            SideBySideWorkload(
                name: "gpt-generate", unit: "ms per character, GPT with key/value cache", warmup: 1, repeats: 5,
                make: gptGeneration),
            visionWorkload(vit: true), visionWorkload(vit: false),
            convWorkload("conv-lenet1", batch: 128, input: 1, size: 28, output: 6, kernel: 5, stride: 1, padding: 2),
            convWorkload("conv-lenet2", batch: 128, input: 6, size: 14, output: 16, kernel: 5, inputGrad: true),
            convWorkload("conv-nature1", batch: 32, input: 4, size: 84, output: 32, kernel: 8, stride: 4),
            convWorkload("conv-nature2", batch: 32, input: 32, size: 20, output: 64, kernel: 4, stride: 2, inputGrad: true),
            convWorkload("conv-nature3", batch: 32, input: 64, size: 9, output: 64, kernel: 3, inputGrad: true),
            convWorkload("conv-vit-patch", batch: 128, input: 1, size: 28, output: 64, kernel: 4, stride: 4)
        ] + ["layernorm", "softmax", "gelu", "attention"].map(opWorkload)
}

// MARK: - The workloads

private func matmulWorkload(_ n: Int) -> SideBySideWorkload {
    SideBySideWorkload(
        name: "matmul-\(n)", unit: "\(n)×\(n) · \(n)×\(n)", warmup: 3, repeats: n >= 2048 ? 10 : n >= 1024 ? 50 : 200
    ) { quick, generator in
        let m = quick ? 64 : n
        let a = Tensor.randn([m, m], using: &generator), b = Tensor.randn([m, m], using: &generator)
        return { _ = matmul(a, b) }
    }
}

/// One Double-DQN update on a fixed batch of 32 (`DQNAgent.update`: Huber, clip 10, Adam).
private func dqnWorkload(nature: Bool) -> SideBySideWorkload {
    SideBySideWorkload(
        name: nature ? "dqn-nature" : "dqn-minatar",
        unit: nature ? "Nature DQN update, batch 32×4×84×84" : "MinAtar DQN update, batch 32×4×10×10",
        warmup: nature ? 3 : 10, repeats: nature ? 30 : 200
    ) { quick, generator in
        let (agent, batch) = dqnUpdateFixture(
            shape: nature ? [4, 84, 84] : [4, 10, 10], actions: nature ? 4 : 3, batchSize: quick ? 2 : 32,
            seed: generator.next())
        return { agent.update(batch) }
    }
}

/// Frames per call of `dqn-loop` (and with `--quick`).
let dqnLoopFrames = 100, dqnLoopQuickFrames = 5

/// The whole DQN training loop on MinAtar Breakout (no sticky actions), `dqnLoopFrames` frames a
/// call, reported per frame: ε-greedy action (ε 0.1) from the online network, one environment
/// step, the transition into a uniform replay of 100,000, a batch of 32 drawn, one Double-DQN
/// update (`DQNAgent.update`: Huber, clip 10, Adam 1e-4; the target synced every 1,000 updates).
/// The replay starts with 1,000 frames of random play.
private let dqnLoop = SideBySideWorkload(
    name: "dqn-loop", unit: "ms per frame, DQN loop on Breakout: act, step, replay, batch-32 update", warmup: 1,
    repeats: 10
) { quick, generator in
    var config = DQNConfig()
    config.seed = generator.next()
    config.batchSize = quick ? 2 : 32
    let agent = DQNAgent(config: config, observationShape: [4, 10, 10], actionCount: 3)
    agent.overlapTargets = Runtime.kernelThreads > 1 && Runtime.blasThreads == 1
    let replay = ReplayBuffer(capacity: config.replayCapacity, observationSize: 400, storage: .bits)
    var game = Breakout(seed: config.seed)
    var observation = [Float](repeating: 0, count: 400), next = observation
    var batch = ReplayBatch(size: config.batchSize, observationSize: 400)
    var random = RandomGenerator(seed: config.seed &+ 1)
    observation.withUnsafeMutableBufferPointer { game.writeObservation(into: $0) }
    func frame(epsilon: Float, learn: Bool) {
        let action = observation.withUnsafeBufferPointer { agent.act($0, epsilon: epsilon, generator: &random) }
        let result = game.step(action)
        next.withUnsafeMutableBufferPointer { game.writeObservation(into: $0) }
        replay.add(
            observation: observation, action: action, reward: result.reward, nextObservation: next,
            terminated: result.terminated, truncated: false)
        if result.isDone {
            game.reset(seed: nil)
            observation.withUnsafeMutableBufferPointer { game.writeObservation(into: $0) }
        } else {
            swap(&observation, &next)
        }
        guard learn else { return }
        replay.sample(into: &batch, gamma: config.gamma, using: &random)
        agent.update(batch)
    }
    for _ in 0..<(quick ? 50 : 1_000) { frame(epsilon: 1, learn: false) }
    let frames = quick ? dqnLoopQuickFrames : dqnLoopFrames
    return { for _ in 0..<frames { frame(epsilon: 0.1, learn: true) } }
}

/// The Nature network's forward pass without a graph on 32 frames: what acting and the
/// update's two passes over s′ (target and online) cost.
private let natureForward = SideBySideWorkload(
    name: "nature-forward", unit: "Nature DQN forward without gradients, batch 32×4×84×84", warmup: 3, repeats: 100
) { quick, generator in
    let network = QNetwork(architecture: .nature, inputShape: [4, 84, 84], actionCount: 4, generator: &generator)
    let frames = Tensor(
        shape: [quick ? 2 : 32, 4, 84, 84],
        data: (0..<((quick ? 2 : 32) * 4 * 84 * 84)).map { _ in generator.nextFloat() < 0.2 ? 1 : 0 })
    return { _ = withNoGrad { network(frames) } }
}

/// Fixed random tokens in 0..<65, `count` of them.
private func tokens(_ count: Int, _ generator: inout RandomGenerator) -> [Int] {
    (0..<count).map { _ in generator.nextInt(below: 65) }
}

/// Loss, backward, gradient clipping and an optimizer step on fixed inputs.
private func trainingStep(
    _ module: any Module, _ optimizer: Optimizer, clip: Float?, loss: @escaping () -> Tensor
) -> () -> Void {
    return {
        let value = loss()
        optimizer.zeroGrad()
        value.backward()
        if let clip { _ = clipGradNorm(module.parameters(), maxNorm: clip) }
        optimizer.step()
    }
}

private func gptTraining(quick: Bool, generator: inout RandomGenerator) -> () -> Void {
    let batch = quick ? 2 : 12
    let gpt = GPT(config: GPTConfig(vocabularySize: 65), generator: &generator)
    let optimizer = AdamW(gpt.weightDecayGroups(weightDecay: 0.1), learningRate: 1e-3, beta2: 0.99, weightDecay: 0.1)
    let inputs = tokens(batch * 64, &generator), targets = tokens(batch * 64, &generator)
    return trainingStep(gpt, optimizer, clip: 1) { gpt.loss(inputs: inputs, targets: targets, batchSize: batch) }
}

private func lstmTraining(quick: Bool, generator: inout RandomGenerator) -> () -> Void {
    let batch = quick ? 2 : 32
    let lstm = CharRNN(config: CharRNNConfig(vocabularySize: 65), generator: &generator)
    let optimizer = Adam(lstm.parameterGroups(), learningRate: 2e-3)
    let inputs = tokens(batch * 64, &generator), targets = tokens(batch * 64, &generator)
    return trainingStep(lstm, optimizer, clip: 5) { lstm.loss(inputs: inputs, targets: targets, batchSize: batch) }
}

/// 63 characters after a one-character prompt (64 positions: the block, so the cache never
/// slides), temperature 0.8, top-k 40.
private func gptGeneration(quick: Bool, generator: inout RandomGenerator) -> () -> Void {
    let gpt = GPT(config: GPTConfig(vocabularySize: 65), generator: &generator)
    gpt.eval()
    var sampler = RandomGenerator(seed: generator.next())
    return {
        _ = Models.generate(session: GPTSession(model: gpt), prompt: [0], count: quick ? 7 : 63, generator: &sampler)
    }
}

/// One batch of 128 random 28×28 images: forward, cross-entropy, backward, AdamW (decay 0.05).
private func visionWorkload(vit: Bool) -> SideBySideWorkload {
    SideBySideWorkload(
        name: vit ? "vit-train" : "lenet-train",
        unit: vit ? "ViT batch of 128, AdamW" : "LeNet-5 batch of 128, AdamW", warmup: vit ? 2 : 3,
        repeats: vit ? 10 : 100, epochBatches: 469
    ) { quick, generator in
        let batch = quick ? 2 : 128
        let model: any UnaryLayer =
            vit ? VisionTransformer(generator: &generator) : LeNet5(generator: &generator)
        model.train()
        let optimizer = AdamW(model.weightDecayGroups(weightDecay: 0.05), learningRate: 1e-3)
        let images = Tensor.randn([batch, 1, 28, 28], using: &generator)
        let labels = (0..<batch).map { _ in generator.nextInt(below: 10) }
        return trainingStep(model, optimizer, clip: nil) { crossEntropy(logits: model(images), targets: labels) }
    }
}

/// conv2d forward and backward with a fixed upstream gradient; the input needs a gradient only
/// when a layer sits below it. 50 warm-up and 50 timed calls on each side: with 3 and 10 (a round
/// of 7–80 ms) the two-thread rounds of `conv-vit-patch` swung 0.67–1.7 ms against 0.34 ms in
/// long runs, as the op workloads' did before their warm-up grew (docs/speed.md).
private func convWorkload(
    _ name: String, batch: Int, input: Int, size: Int, output: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
    inputGrad: Bool = false
) -> SideBySideWorkload {
    SideBySideWorkload(
        name: name,
        unit: "conv \(input)→\(output) \(kernel)×\(kernel)/\(stride) on \(batch)×\(input)×\(size)×\(size), fwd + bwd",
        warmup: 50, repeats: 50
    ) { quick, generator in
        let x = Tensor.randn([quick ? 2 : batch, input, size, size], using: &generator, requiresGrad: inputGrad)
        let weight = Initializer.kaimingUniform([output, input, kernel, kernel], using: &generator)
        let bias = Tensor.zeros([output], requiresGrad: true)
        let forward = {
            conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
        }
        let gradient = Tensor.randn(withNoGrad(forward).shape, using: &generator)
        return {
            for t in [x, weight, bias] { t.zeroGrad() }
            forward().backward(gradient: gradient)
        }
    }
}

/// One op forward and backward at the GPT's shapes (batch 12, 64 positions, 128 dims, 4 heads
/// of 32; GELU on the MLP's 512 hidden units) with a fixed upstream gradient. 200 warm-up calls
/// on each side: with five, a two-thread round was timed before Cortex's worker, asleep while
/// PyTorch ran, was back on the other core (docs/speed.md).
private func opWorkload(_ name: String) -> SideBySideWorkload {
    let shapes = [
        "layernorm": "LayerNorm(128) on 12×64×128", "softmax": "softmax on 12×4×64×64",
        "gelu": "GELU on 12×64×512", "attention": "causal attention, q k v 12×4×64×32"
    ]
    return SideBySideWorkload(name: name, unit: shapes[name]! + ", fwd + bwd", warmup: 200, repeats: 30) {
        quick, generator in
        let B = quick ? 2 : 12
        var inputs: [Tensor] = []
        let forward: () -> Tensor
        switch name {
        case "layernorm":
            let x = Tensor.randn([B, 64, 128], using: &generator, requiresGrad: true)
            let norm = LayerNorm([128])
            inputs = [x] + norm.parameters()
            forward = { norm(x) }
        case "softmax":
            let x = Tensor.randn([B, 4, 64, 64], using: &generator, requiresGrad: true)
            inputs = [x]
            forward = { x.softmax(axis: -1) }
        case "gelu":
            let x = Tensor.randn([B, 64, 512], using: &generator, requiresGrad: true)
            inputs = [x]
            forward = { x.gelu() }
        default:
            inputs = (0..<3).map { _ in Tensor.randn([B, 4, 64, 32], using: &generator, requiresGrad: true) }
            forward = { scaledDotProductAttention(query: inputs[0], key: inputs[1], value: inputs[2], causal: true) }
        }
        let gradient = Tensor.randn(withNoGrad(forward).shape, using: &generator)
        return {
            for t in inputs { t.zeroGrad() }
            forward().backward(gradient: gradient)
        }
    }
}
