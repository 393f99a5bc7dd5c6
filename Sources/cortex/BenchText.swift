import ArgumentParser
import Cortex
import Foundation
import Models

/// `cortex bench text`: training-iteration time of the GPT and LSTM configurations of
/// `cortex train text`, and GPT generation speed with and without the key/value cache.
///
/// References in the same run: the LSTM unrolled step by step through primitive ops (what the
/// fused kernel replaces), and generation recomputing the whole context for every token (what
/// the cache replaces). PyTorch on the same iterations: `cortex bench pytorch`.
struct BenchText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Text models: ms per training iteration (GPT, LSTM) and generated characters/s.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Timed training iterations per model (the median is reported).") var iterations = 20
    @Option(help: "Characters generated per generation measurement.") var characters = 2000
    @Option(help: "Measure only: gpt, lstm or generation (for profiling).") var only: String?

    func validate() throws {
        if let only, !["gpt", "lstm", "generation"].contains(only) {
            throw ValidationError("--only must be gpt, lstm or generation, got '\(only)'")
        }
        guard iterations >= 3, characters >= 10 else {
            throw ValidationError("--iterations must be at least 3 and --characters at least 10")
        }
    }

    func run() throws {
        Runtime.configure(threads: common.threads)
        var generator = RandomGenerator(seed: common.seed)
        let vocabulary = 65
        printError(
            "bench text: \(common.threads) thread(s), \(iterations) iterations per model, vocabulary \(vocabulary), random tokens"
        )
        printError("  against PyTorch in one run: cortex bench pytorch --workloads gpt-train,lstm-train,gpt-generate")

        let gpt = GPT(config: GPTConfig(vocabularySize: vocabulary), generator: &generator)
        let gptOptimizer = AdamW(
            gpt.weightDecayGroups(weightDecay: 0.1), learningRate: 1e-3, beta2: 0.99, weightDecay: 0.1)
        let measures = { (part: String) in only == nil || only == part }
        printError("  GPT 4×128, batch 12 × 64")
        let (gptMs, gptCPU) =
            !measures("gpt")
            ? (.nan, .nan)
            : timeTraining(
                module: gpt, optimizer: gptOptimizer, batch: 12, block: 64, vocabulary: vocabulary,
                clip: 1, generator: &generator
            ) { gpt.loss(inputs: $0, targets: $1, batchSize: 12) }

        let lstm = CharRNN(config: CharRNNConfig(vocabularySize: vocabulary), generator: &generator)
        let lstmOptimizer = Adam(lstm.parameterGroups(), learningRate: 2e-3)
        printError("  LSTM 2×256, batch 32 × 64 (fused)")
        let (lstmMs, lstmCPU) =
            !measures("lstm")
            ? (.nan, .nan)
            : timeTraining(
                module: lstm, optimizer: lstmOptimizer, batch: 32, block: 64, vocabulary: vocabulary,
                clip: 5, generator: &generator
            ) { lstm.loss(inputs: $0, targets: $1, batchSize: 32) }
        printError("  LSTM 2×256 unrolled through primitive ops")
        let network = lstm.rnn as! LSTM
        let unrolledMs =
            only != nil
            ? .nan
            : timeTraining(
                module: lstm, optimizer: lstmOptimizer, batch: 32, block: 64, vocabulary: vocabulary,
                clip: 5, generator: &generator, repeats: max(3, iterations / 4)
            ) { inputs, targets in
                var x = lstm.embedding(inputs, shape: [32, 64])
                for cell in network.cells { x = cell.unrolled(x, state: cell.zeroState(batchSize: 32)).output }
                return crossEntropy(logits: lstm.head(x), targets: targets)
            }.wall

        printError("  GPT generation, \(characters) characters")
        let generation = measures("generation")
        let cached =
            !generation
            ? (wall: .nan, cpu: .nan) : generationRate(GPTSession(model: gpt), count: characters, generator: &generator)
        let recomputed =
            !generation
            ? (wall: .nan, cpu: .nan)
            : generationRate(
                RecomputingSession(model: gpt), count: max(10, characters / 4),
                generator: &generator)
        let lstmRate =
            !generation
            ? (wall: .nan, cpu: .nan)
            : generationRate(CharRNNSession(model: lstm), count: characters, generator: &generator)

        print(
            String(
                format: "GPT  4×128, batch 12×64:  %7.1f ms/iteration (CPU %.1f ms)", gptMs, gptCPU))
        print(
            String(
                format:
                    "LSTM 2×256, batch 32×64:  %7.1f ms/iteration (CPU %.1f ms)   (unrolled ops %.1f ms, %.1f× slower)",
                lstmMs, lstmCPU, unrolledMs, unrolledMs / lstmMs))
        print(
            String(
                format:
                    "GPT generation: %.0f characters/s with the key/value cache (CPU %.0f), %.0f recomputing the context (%.1f×)",
                cached.wall, cached.cpu, recomputed.wall, cached.cpu / recomputed.cpu))
        print(
            String(
                format: "LSTM generation: %.0f characters/s with carried state (CPU %.0f)", lstmRate.wall, lstmRate.cpu)
        )
        if common.json {
            printJSON([
                "gpt_ms_per_iter": gptMs, "lstm_ms_per_iter": lstmMs, "gpt_cpu_ms_per_iter": gptCPU,
                "lstm_cpu_ms_per_iter": lstmCPU, "lstm_unrolled_ms_per_iter": unrolledMs,
                "gpt_chars_per_s": cached.wall, "gpt_chars_per_s_no_cache": recomputed.wall,
                "lstm_chars_per_s": lstmRate.wall,
                "gpt_cpu_chars_per_s": cached.cpu, "gpt_cpu_chars_per_s_no_cache": recomputed.cpu,
                "lstm_cpu_chars_per_s": lstmRate.cpu,
                "threads": common.threads, "load_average": loadAverage()
            ])
        }
    }

    /// Median milliseconds of one training iteration (loss, backward, clip, optimizer step) on
    /// random tokens, after two warm-up iterations.
    private func timeTraining(
        module: any Module, optimizer: Optimizer, batch: Int, block: Int, vocabulary: Int, clip: Float,
        generator: inout RandomGenerator, repeats: Int? = nil,
        loss: ([Int], [Int]) -> Tensor
    ) -> (wall: Double, cpu: Double) {
        var samples: [(wall: Double, cpu: Double)] = []
        let count = repeats ?? iterations
        for index in 0..<(count + 2) {
            let inputs = (0..<(batch * block)).map { _ in generator.nextInt(below: vocabulary) }
            let targets = (0..<(batch * block)).map { _ in generator.nextInt(below: vocabulary) }
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSecondsUsed()
            let value = loss(inputs, targets)
            optimizer.zeroGrad()
            value.backward()
            _ = clipGradNorm(module.parameters(), maxNorm: clip)
            optimizer.step()
            if index >= 2 {
                samples.append(
                    (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, (cpuSecondsUsed() - cpuStart) * 1000))
            }
        }
        return (samples.map(\.wall).sorted()[samples.count / 2], samples.map(\.cpu).sorted()[samples.count / 2])
    }

    /// Characters per second of wall time and of process CPU time.
    private func generationRate(
        _ session: GenerationSession, count: Int, generator: inout RandomGenerator
    ) -> (wall: Double, cpu: Double) {
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSecondsUsed()
        let tokens = Models.generate(session: session, prompt: [0], count: count, generator: &generator)
        return (
            Double(tokens.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9),
            Double(tokens.count) / (cpuSecondsUsed() - cpuStart)
        )
    }
}

/// Generation without a cache, as nanoGPT's `generate`: the whole context (up to the block
/// size) goes through the model again for every token.
private final class RecomputingSession: GenerationSession {
    let model: GPT
    var context: [Int] = []
    init(model: GPT) {
        self.model = model
        model.eval()
    }
    func feed(_ tokens: [Int]) -> [Float] {
        context = Array((context + tokens).suffix(model.config.blockSize))
        return withNoGrad {
            let logits = model(context, batchSize: 1)
            return Array(logits.scalars.suffix(model.config.vocabularySize))
        }
    }
}

/// CPU seconds used by the whole process so far (all threads): with other jobs on the machine,
/// about the time the work would take on an idle one, when it runs on one thread.
private func cpuSecondsUsed() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// The 1-minute load average (other jobs on the machine change every figure).
private func loadAverage() -> Double {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) > 0 ? loads[0] : -1
}
