import Cortex
import CortexTestSupport
import Foundation
import Models
import XCTest

/// GPT and char-RNN: causality, the key/value cache against full recomputation, memorising a
/// short text from a fixed seed, sampling, and a checkpoint round trip.
final class LanguageModelTests: XCTestCase {
    /// 200 characters of the sonnets.
    static let text = String(
        """
        From fairest creatures we desire increase, That thereby beauty's rose might never die, \
        But as the riper should by time decease, His tender heir might bear his memory: But thou \
        contracted to thine own bright eyes, Feed'st thy light's flame
        """.prefix(200))

    static func tokens() -> (tokens: [Int], vocabulary: Int) {
        let characters = Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value }
        let index = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1, $0) })
        return (text.unicodeScalars.map { index[$0]! }, characters.count)
    }

    private var generator = RandomGenerator(seed: 3)
    private var threads = 1

    // Tiny GEMMs: BLAS threads only add hand-offs (and wait long on a busy machine).
    override func setUp() {
        threads = Runtime.blasThreads
        Runtime.configure(threads: 1)
    }

    override func tearDown() { Runtime.blasThreads = threads }

    private func smallGPT(vocabulary: Int = 11, blockSize: Int = 8) -> GPT {
        GPT(
            config: GPTConfig(
                vocabularySize: vocabulary, blockSize: blockSize, layers: 2, heads: 2, embedDimension: 16),
            generator: &generator)
    }

    func testGPTIsCausal() {
        let model = smallGPT()
        var tokens = [3, 1, 4, 1, 5, 9, 2, 6]
        let before = model(tokens, batchSize: 1).scalars
        tokens[5] = 7  // change position 5: logits of 0…4 must not move
        let after = model(tokens, batchSize: 1).scalars
        XCTAssertEqual(Array(before[..<(5 * 11)]), Array(after[..<(5 * 11)]))
        XCTAssertNotEqual(Array(before[(5 * 11)...]), Array(after[(5 * 11)...]))
    }

    func testGPTGradients() {
        let model = GPT(
            config: GPTConfig(vocabularySize: 5, blockSize: 4, layers: 1, heads: 2, embedDimension: 4),
            generator: &generator)
        XCTAssertEqual(model.stateDict().map(\.name).prefix(3), ["wte.weight", "wpe.weight", "blocks.0.norm1.weight"])
        XCTAssertEqual(model.stateDict().last?.name, "ln_f.bias")
        // The tied head: one tensor, listed once among the parameters.
        XCTAssertEqual(model.namedParameters().filter { $0.tensor === model.wte.weight }.count, 1)
        // GPT's N(0, 0.02) embeddings put LayerNorm where a finite-difference step of 1e-2 is far
        // from linear; unit-scale embeddings make the check meaningful.
        for table in [model.wte.weight, model.wpe.weight] {
            for i in 0..<table.count { table.storage.pointer[i] = generator.nextNormal() }
        }
        checkGradients(model.parameters()) { _ in model([1, 4, 0, 2, 3, 3, 1, 0], batchSize: 2) }
    }

    func testKeyValueCacheGivesTheLogitsOfFullRecomputation() {
        let model = smallGPT()
        model.eval()
        let session = GPTSession(model: model)
        let sequence = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]
        var context: [Int] = []
        // Prompt of three tokens, then one at a time, past the block size (the window slides).
        for (step, piece) in ([[3, 1, 4]] + sequence.dropFirst(3).map { [$0] }).enumerated() {
            let cached = session.feed(piece)
            context += piece
            XCTAssertEqual(session.context, Array(context.suffix(session.context.count)), "step \(step)")
            let window = session.context
            let full = withNoGrad { model(window, batchSize: 1) }.scalars.suffix(11)
            assertClose(cached, Array(full), accuracy: 1e-5, "step \(step), context \(window.count)")
        }
        XCTAssertLessThanOrEqual(session.context.count, 8)
    }

    func testSampling() {
        var generator = RandomGenerator(seed: 1)
        XCTAssertEqual(sampleToken(logits: [0.1, 2, 0.5], temperature: 0, topK: nil, generator: &generator), 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4000 {
            counts[sampleToken(logits: [0, Float(log(3.0)), 5, -1], temperature: 1, topK: 2, generator: &generator)] +=
                1
        }
        // top-2 keeps logits 5 and log 3 (tokens 2 and 1): p(1) = 3 / (3 + e⁵) ≈ 0.0198.
        XCTAssertEqual(counts[0] + counts[3], 0)
        XCTAssertEqual(Double(counts[1]) / 4000, 3 / (3 + exp(5.0)), accuracy: 0.008)
    }

    /// Trains `logits` with Adam on random 32-character windows of the 200-character text and
    /// returns the loss on every window, counting the positions with at least 8 characters of
    /// context (the first few characters of a window are ambiguous however well the text is known).
    private func memorise(
        _ module: any Module, steps: Int, learningRate: Float,
        logits: ([Int], Int) -> Tensor
    ) -> Float {
        let (tokens, _) = Self.tokens()
        var generator = RandomGenerator(seed: 0)
        let optimizer = Adam(module.parameterGroups(), learningRate: learningRate)
        let (B, T) = (16, 32)
        for _ in 0..<steps {
            var inputs: [Int] = [], targets: [Int] = []
            for _ in 0..<B {
                let start = generator.nextInt(below: tokens.count - T)
                inputs += tokens[start..<(start + T)]
                targets += tokens[(start + 1)...(start + T)]
            }
            let loss = crossEntropy(logits: logits(inputs, B), targets: targets)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        var inputs: [Int] = [], targets: [Int] = []
        for start in 0..<(tokens.count - T) {
            inputs += tokens[start..<(start + T)]
            targets += (0..<T).map { $0 < 8 ? -1 : tokens[start + 1 + $0] }
        }
        return withNoGrad {
            crossEntropy(logits: logits(inputs, inputs.count / T), targets: targets, ignoreIndex: -1).item
        }
    }

    func testGPTMemorisesTwoHundredCharacters() {
        let (_, vocabulary) = Self.tokens()
        var generator = RandomGenerator(seed: 0)
        let model = GPT(
            config: GPTConfig(vocabularySize: vocabulary, blockSize: 32, layers: 2, heads: 2, embedDimension: 48),
            generator: &generator)
        let loss = memorise(model, steps: 300, learningRate: 5e-3) { model($0, batchSize: $1) }
        XCTAssertLessThan(loss, 0.05)
    }

    func testLSTMMemorisesTwoHundredCharacters() {
        let (_, vocabulary) = Self.tokens()
        var generator = RandomGenerator(seed: 0)
        let model = CharRNN(
            config: CharRNNConfig(vocabularySize: vocabulary, embedDimension: 16, hiddenSize: 96, layers: 1),
            generator: &generator)
        let loss = memorise(model, steps: 250, learningRate: 1e-2) { model($0, batchSize: $1).logits }
        XCTAssertLessThan(loss, 0.05)
    }

    func testCheckpointRoundTripReproducesTheSample() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cortex-lm-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let models: [LanguageModel] = [
            .gpt(smallGPT()),
            .recurrent(
                CharRNN(
                    config: CharRNNConfig(cell: .gru, vocabularySize: 11, embedDimension: 4, hiddenSize: 8),
                    generator: &generator))
        ]
        for model in models {
            let path = folder + "/\(model.kind).safetensors"
            try Checkpoint.save(model.module, metadata: model.metadata(), to: path)
            let (loaded, metadata) = try LanguageModel.load(from: path)
            XCTAssertEqual(metadata[LanguageModel.kindKey], model.kind)
            func sample(_ model: LanguageModel) -> [Int] {
                var generator = RandomGenerator(seed: 42)
                return generate(
                    session: model.makeSession(), prompt: [1, 2], count: 30, temperature: 1, topK: 5,
                    generator: &generator)
            }
            let original = sample(model)
            XCTAssertEqual(sample(loaded), original, model.kind)
            XCTAssertEqual(sample(model), original, "\(model.kind): same seed, same sample")
        }
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: folder + "/bad.safetensors"))
        XCTAssertThrowsError(try LanguageModel.load(from: folder + "/bad.safetensors"))
    }
}
