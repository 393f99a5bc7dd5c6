import Cortex

/// Sizes of the attention captioner. Defaults fit 64×64 Fashion-MNIST scenes: the detector's
/// backbone (four stages down to an 8×8 grid of 128 channels), a 256-unit LSTM with 128-unit
/// additive attention, and a count head of ten classes × 0…4 items.
public struct CaptionerNetworkConfig: Codable, Equatable, Sendable {
    /// Image channels.
    public var channels = 1
    /// Height and width of the (square) input images; a multiple of the encoder's stride.
    public var imageSize = 64
    /// Channels of each encoder stage; a 2×2 max pooling separates two stages, so the grid is
    /// `imageSize / 2^(stages − 1)` on a side and each region's feature has `widths.last` values.
    public var widths = [16, 32, 64, 128]
    /// 3×3 conv-BN-ReLU layers in each stage (as many entries as `widths`).
    public var convolutions = [1, 2, 2, 2]
    /// Words the decoder reads and writes, the three special tokens included (set from the
    /// recipe's vocabulary).
    public var vocabularySize = 3
    /// Size of a word's embedding.
    public var embeddingSize = 64
    /// LSTM hidden and cell size.
    public var hiddenSize = 256
    /// Size of the additive attention's hidden layer.
    public var attentionSize = 128
    /// Classes of the auxiliary count head on the mean feature (0: no head).
    public var countClasses = 10
    /// The count head predicts 0…`maxCount` items of each class.
    public var maxCount = 4

    public init() {}

    /// The side of the feature grid.
    public var gridSize: Int { imageSize >> (widths.count - 1) }
    /// Regions the decoder attends over (`gridSize²`).
    public var regions: Int { gridSize * gridSize }
    /// Values of one region's feature.
    public var featureSize: Int { widths.last ?? 0 }

    /// Why these sizes cannot make a captioner, or nil.
    public var problem: String? {
        if channels < 1 || imageSize < 1 { return "captioner sizes must be positive" }
        if widths.isEmpty || widths.count != convolutions.count {
            return "the captioner needs one convolution count per stage width, got widths \(widths) and convolutions \(convolutions)"
        }
        if widths.contains(where: { $0 < 1 || $0 > 4096 }) || convolutions.contains(where: { $0 < 1 || $0 > 16 }) {
            return "captioner widths must lie in 1…4096 and convolutions per stage in 1…16, got \(widths) and \(convolutions)"
        }
        let stride = 1 << (widths.count - 1)
        if imageSize % stride != 0 || gridSize < 1 {
            return "the image size \(imageSize) must be a multiple of the captioner's stride \(stride)"
        }
        for (name, value) in [
            ("embedding", embeddingSize), ("hidden", hiddenSize), ("attention", attentionSize)
        ] where value < 1 || value > 8192 {
            return "the captioner's \(name) size must lie in 1…8192, got \(value)"
        }
        if vocabularySize < 4 || vocabularySize > 100_000 {
            return "the vocabulary must hold 4…100000 words (three special tokens included), got \(vocabularySize)"
        }
        if countClasses < 0 || countClasses > 1000 || maxCount < 1 || maxCount > 100 {
            return "the count head needs 0…1000 classes and a largest count of 1…100"
        }
        return nil
    }
}

/// Soft deterministic attention of "Show, Attend and Tell" (Xu et al. 2015, §4.2.2) with
/// Bahdanau et al.'s (2015) additive score:
///
/// ```
/// e_ti = w_aᵀ tanh(W_f·a_i + b_f + W_h·h_{t−1} + b_h) + b_a    a_i: region i's feature [C]
/// α_t  = softmax_i(e_t)                                       [B, L], Σ_i α_ti = 1
/// ẑ_t  = Σ_i α_ti · a_i                                       [B, C]
/// ```
/// `W_f·a_i + b_f` does not depend on t, so `project` computes it once per image.
///
/// Keys: `encoder_att.{weight [A, C], bias [A]}`, `decoder_att.{weight [A, H], bias [A]}`,
/// `full_att.{weight [1, A], bias [1]}`, all PyTorch's `nn.Linear` defaults.
public final class SoftAttention: Module {
    public let encoderProjection: Linear
    public let decoderProjection: Linear
    public let score: Linear
    public var isTraining = true

    public init(featureSize: Int, hiddenSize: Int, attentionSize: Int, generator: inout RandomGenerator) {
        encoderProjection = Linear(inputFeatures: featureSize, outputFeatures: attentionSize, generator: &generator)
        decoderProjection = Linear(inputFeatures: hiddenSize, outputFeatures: attentionSize, generator: &generator)
        score = Linear(inputFeatures: attentionSize, outputFeatures: 1, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("encoder_att", encoderProjection), ("decoder_att", decoderProjection), ("full_att", score)]
    }

    /// `W_f·a_i + b_f` of features `[B, L, C]` → `[B, L, A]`.
    public func project(_ features: Tensor) -> Tensor { encoderProjection(features) }

    /// The context `ẑ` `[B, C]` and weights `α` `[B, L]` for features `[B, L, C]`, their
    /// projection `[B, L, A]` and the previous hidden state `[B, H]`.
    public func callAsFunction(features: Tensor, projected: Tensor, hidden: Tensor) -> (context: Tensor, weights: Tensor) {
        let (B, L, A) = (projected.shape[0], projected.shape[1], projected.shape[2])
        precondition(
            features.rank == 3 && features.shape[0] == B && features.shape[1] == L && hidden.shape[0] == B,
            "SoftAttention: features \(features.shape), projection \(projected.shape), hidden \(hidden.shape)")
        let e = score((projected + decoderProjection(hidden).reshaped([B, 1, A])).tanh()).reshaped([B, L])
        let alpha = e.softmax(axis: 1)  // [B, L]
        let context = (alpha.reshaped([B, L, 1]) * features).sum(axes: [1])  // [B, C]
        return (context, alpha)
    }
}

/// A caption with the attention weights over the feature grid that produced each word.
public struct DecodedCaption: Equatable, Sendable {
    /// Word ids, without `<start>` and `<end>`.
    public var tokens: [Int]
    /// For word t, its weights over the `gridSize²` regions (row-major), summing to 1.
    public var attention: [[Float]]
    /// Sum of the log-probabilities of the words (and of `<end>` when it was reached).
    public var logProbability: Double
}

/// "Show, Attend and Tell" (Xu et al. 2015) on small grey scenes: a CNN encoder turns the image
/// into a grid of region features, and an LSTM decoder writes the caption one word at a time,
/// reading at each step a soft-attention average of the regions.
///
/// ```
/// x [B, 1, 64, 64] → encoder (conv-BN-ReLU stages, `convolutionStages`)   [B, C, S, S]
///   → regions a                                                          [B, L = S², C]
/// h₀ = init_h(mean_i a_i), c₀ = init_c(mean_i a_i)                        [B, H]
/// step t: α_t, ẑ_t = attention(a, h_{t−1});  β_t = σ(f_beta(h_{t−1}));
///         h_t, c_t = LSTM([embedding(y_{t−1}); β_t ⊙ ẑ_t], h_{t−1}, c_{t−1})
///         p(y_t) = softmax(fc(h_t))                                        [B, V]
/// ```
/// β is the paper's gating scalar (§4.2.1), one per feature channel as in common
/// re-implementations. Training feeds the true previous word (teacher forcing); decoding feeds
/// the model's own, greedily or by beam search. With `countClasses > 0` a linear head on the
/// mean feature predicts each class's item count (0…maxCount), an auxiliary task that makes the
/// encoder count (a regulariser in the spirit of the paper's "doubly stochastic" attention term).
///
/// Token ids 0, 1, 2 are `<pad>`, `<start>`, `<end>`.
///
/// Keys (PyTorch's names, as in the widely used PyTorch re-implementation's `DecoderWithAttention`):
/// `encoder.<n>.*` (see `convolutionStages`), `attention.{encoder_att,decoder_att,full_att}.*`
/// (see `SoftAttention`), `embedding.weight [V, E]`, `decode_step.{weight_ih [4H, E+C],
/// weight_hh [4H, H], bias_ih [4H], bias_hh [4H]}` (`nn.LSTMCell`), `init_h.{weight [H, C], bias}`,
/// `init_c.{weight [H, C], bias}`, `f_beta.{weight [C, H], bias [C]}`, `fc.{weight [V, H], bias [V]}`
/// and, with the count head, `count_head.{weight [K·(maxCount+1), C], bias}`. The embedding
/// starts from U(−0.1, 0.1), everything else from PyTorch's defaults.
public final class Captioner: Module {
    public static let padToken = 0
    public static let startToken = 1
    public static let endToken = 2

    public let config: CaptionerNetworkConfig
    public let encoder: Sequential
    public let attention: SoftAttention
    public let embedding: Embedding
    public let decodeStep: LSTMCell
    public let initHidden: Linear
    public let initCell: Linear
    public let gate: Linear
    public let output: Linear
    public let countHead: Linear?
    public var isTraining = true

    public init(_ config: CaptionerNetworkConfig = CaptionerNetworkConfig(), generator: inout RandomGenerator) {
        precondition(config.problem == nil, "Captioner: \(config.problem ?? "")")
        self.config = config
        let (C, H) = (config.featureSize, config.hiddenSize)
        encoder = convolutionStages(
            inputChannels: config.channels, widths: config.widths, convolutions: config.convolutions,
            generator: &generator)
        attention = SoftAttention(
            featureSize: C, hiddenSize: H, attentionSize: config.attentionSize, generator: &generator)
        embedding = Embedding(
            count: config.vocabularySize, dimension: config.embeddingSize, weightInit: .uniform(bound: 0.1),
            generator: &generator)
        decodeStep = LSTMCell(inputSize: config.embeddingSize + C, hiddenSize: H, generator: &generator)
        initHidden = Linear(inputFeatures: C, outputFeatures: H, generator: &generator)
        initCell = Linear(inputFeatures: C, outputFeatures: H, generator: &generator)
        gate = Linear(inputFeatures: H, outputFeatures: C, generator: &generator)
        output = Linear(inputFeatures: H, outputFeatures: config.vocabularySize, generator: &generator)
        countHead =
            config.countClasses > 0
            ? Linear(inputFeatures: C, outputFeatures: config.countClasses * (config.maxCount + 1), generator: &generator)
            : nil
    }

    public var children: [(name: String, module: any Module)] {
        [
            ("encoder", encoder), ("attention", attention), ("embedding", embedding), ("decode_step", decodeStep),
            ("init_h", initHidden), ("init_c", initCell), ("f_beta", gate), ("fc", output)
        ] + (countHead.map { [("count_head", $0)] } ?? [])
    }

    /// Region features `[B, L, C]` of images `[B, channels, size, size]` (pixels in 0…1).
    public func encode(_ images: Tensor) -> Tensor {
        precondition(
            images.rank == 4 && Array(images.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
            "Captioner: expected [B, \(config.channels), \(config.imageSize), \(config.imageSize)], got \(images.shape)")
        let grid = encoder(images)  // [B, C, S, S]
        let (B, C) = (grid.shape[0], grid.shape[1])
        return grid.reshaped([B, C, config.regions]).permuted([0, 2, 1])
    }

    /// Count logits `[B, K, maxCount + 1]` from region features `[B, L, C]` (nil without a head).
    public func countLogits(_ features: Tensor) -> Tensor? {
        guard let countHead else { return nil }
        return countHead(features.mean(axes: [1])).reshaped([features.shape[0], config.countClasses, config.maxCount + 1])
    }

    /// The decoder's state before the first word: `init_h` and `init_c` of the mean feature.
    public func initialState(_ features: Tensor) -> RecurrentState {
        let mean = features.mean(axes: [1])  // [B, C]
        return RecurrentState(hidden: initHidden(mean), cell: initCell(mean))
    }

    /// One decoder step: the previous words `[B]` → the new state, the attention weights `[B, L]`
    /// that produced it.
    public func step(
        _ previous: [Int], features: Tensor, projected: Tensor, state: RecurrentState
    ) -> (state: RecurrentState, weights: Tensor) {
        let B = previous.count
        let (context, alpha) = attention(features: features, projected: projected, hidden: state.hidden)
        let gated = gate(state.hidden).sigmoid() * context
        let input = Tensor.concat([embedding(previous, shape: [B]), gated], axis: 1)
        return (decodeStep(input, state: state), alpha)
    }

    /// Teacher forcing: word logits `[B, T, V]` and attention weights `[B, T, L]` for images and
    /// input words `[B][T]` (`<start>` then the caption, padded), and the region features.
    public func callAsFunction(images: Tensor, inputs: [[Int]]) -> (logits: Tensor, weights: Tensor, features: Tensor) {
        let features = encode(images)
        let B = features.shape[0]
        precondition(inputs.count == B, "Captioner: \(inputs.count) input rows for \(B) images")
        let T = inputs.first?.count ?? 0
        precondition(T > 0 && inputs.allSatisfy { $0.count == T }, "Captioner: input rows must share one length > 0")
        let projected = attention.project(features)
        var state = initialState(features)
        var hiddens: [Tensor] = [], weights: [Tensor] = []
        for t in 0..<T {
            let (next, alpha) = step(inputs.map { $0[t] }, features: features, projected: projected, state: state)
            state = next
            hiddens.append(state.hidden)
            weights.append(alpha)
        }
        let logits = output(Tensor.stack(hiddens, axis: 1))  // [B, T, V]
        return (logits, Tensor.stack(weights, axis: 1), features)
    }

    /// Greedy decoding of images `[B, channels, size, size]` in evaluation mode: at each step the
    /// most probable word, up to `<end>` or `maxLength` words.
    public func greedy(_ images: Tensor, maxLength: Int) -> [DecodedCaption] {
        eval()
        return withNoGrad {
            let features = encode(images)
            let B = features.shape[0], V = config.vocabularySize, L = config.regions
            let projected = attention.project(features)
            var state = initialState(features)
            var previous = [Int](repeating: Self.startToken, count: B)
            var out = [DecodedCaption](repeating: DecodedCaption(tokens: [], attention: [], logProbability: 0), count: B)
            var done = [Bool](repeating: false, count: B)
            for _ in 0..<maxLength where done.contains(false) {
                let (next, alpha) = step(previous, features: features, projected: projected, state: state)
                state = next
                let logp = output(state.hidden).logSoftmax(axis: 1).scalars
                let weights = alpha.scalars
                for b in 0..<B where !done[b] {
                    var best = 0
                    for v in 1..<V where logp[b * V + v] > logp[b * V + best] { best = v }
                    out[b].logProbability += Double(logp[b * V + best])
                    previous[b] = best
                    if best == Self.endToken {
                        done[b] = true
                    } else {
                        out[b].tokens.append(best)
                        out[b].attention.append(Array(weights[(b * L)..<((b + 1) * L)]))
                    }
                }
            }
            return out
        }
    }

    /// Beam search (width `width`) over each image in turn: keeps the `width` most probable
    /// partial captions (sum of word log-probabilities, no length normalisation, as the paper);
    /// a caption ending in `<end>` leaves the beam, which shrinks by one, and the search stops
    /// when no beam is left or after `maxLength` words. The most probable finished caption wins
    /// (unfinished ones only when none finished). Width 1 is greedy decoding.
    public func beamSearch(_ images: Tensor, width: Int, maxLength: Int) -> [DecodedCaption] {
        precondition(width >= 1, "Captioner.beamSearch: width \(width)")
        eval()
        return withNoGrad {
            let all = encode(images)
            return (0..<all.shape[0]).map { b in
                beamSearch(features: all.slice(axis: 0, start: b, end: b + 1), width: width, maxLength: maxLength)
            }
        }
    }

    private func beamSearch(features one: Tensor, width: Int, maxLength: Int) -> DecodedCaption {
        let V = config.vocabularySize, L = config.regions
        let projectedOne = attention.project(one)
        var beams = [DecodedCaption(tokens: [], attention: [], logProbability: 0)]
        var finished: [DecodedCaption] = []
        var state = initialState(one)
        for _ in 0..<maxLength {
            let n = beams.count
            let rows = [Int](repeating: 0, count: n)
            let features = n == 1 ? one : one.indexSelect(axis: 0, indices: rows)
            let projected = n == 1 ? projectedOne : projectedOne.indexSelect(axis: 0, indices: rows)
            let previous = beams.map { $0.tokens.last ?? Self.startToken }
            let (next, alpha) = step(previous, features: features, projected: projected, state: state)
            let logp = output(next.hidden).logSoftmax(axis: 1).scalars
            let weights = alpha.scalars
            // The best `width − finished` extensions; ties go to the lower (beam, word) index.
            let keep = width - finished.count
            var candidates: [(score: Double, index: Int)] = []
            candidates.reserveCapacity(n * V)
            for i in 0..<(n * V) { candidates.append((beams[i / V].logProbability + Double(logp[i]), i)) }
            candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            var live: [DecodedCaption] = [], parents: [Int] = []
            for candidate in candidates.prefix(keep) {
                let (b, v) = (candidate.index / V, candidate.index % V)
                var extended = beams[b]
                extended.logProbability = candidate.score
                if v == Self.endToken {
                    finished.append(extended)
                } else {
                    extended.tokens.append(v)
                    extended.attention.append(Array(weights[(b * L)..<((b + 1) * L)]))
                    live.append(extended)
                    parents.append(b)
                }
            }
            if live.isEmpty || finished.count >= width { break }
            beams = live
            state = RecurrentState(
                hidden: next.hidden.indexSelect(axis: 0, indices: parents),
                cell: next.cell!.indexSelect(axis: 0, indices: parents))
        }
        let pool = finished.isEmpty ? beams : finished
        var best = pool[0]
        for candidate in pool.dropFirst() where candidate.logProbability > best.logProbability { best = candidate }
        return best
    }
}
