// Recurrent networks as a *cell* (one time step) plus one driver that unrolls any cell over a
// sequence and stacks layers (tensorflow/swift-apis' `Recurrent.swift` shape). Names, shapes and
// gate order are PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU`, so a checkpoint loads there unchanged.

import CKernels

// MARK: - State and the cell protocol

/// The state a recurrent cell carries between time steps: the hidden state `h` `[B, H]`, and for
/// an LSTM the cell state `c` `[B, H]`.
public struct RecurrentState {
    public var hidden: Tensor
    public var cell: Tensor?

    public init(hidden: Tensor, cell: Tensor? = nil) {
        self.hidden = hidden
        self.cell = cell
    }

    /// The same values cut off from the graph: carried state for truncated backpropagation
    /// through time, or between generation steps.
    public func detached() -> RecurrentState { RecurrentState(hidden: hidden.detached(), cell: cell?.detached()) }
}

/// One time step of a recurrent network.
///
/// Parameters (PyTorch's `nn.RNNCell`/`LSTMCell`/`GRUCell` names): `weight_ih [G·H, I]`,
/// `weight_hh [G·H, H]`, `bias_ih [G·H]`, `bias_hh [G·H]`, G gates stacked in PyTorch's order.
/// `callAsFunction(_:state:)` is the step written with primitive ops (the definition, checked
/// by finite differences); `sequence(_:state:)` runs a whole sequence — by default by unrolling
/// the step, and for the built-in cells through one fused kernel with its own backward.
public protocol RecurrentCell: Module {
    init(inputSize: Int, hiddenSize: Int, bias: Bool, generator: inout RandomGenerator)
    var inputSize: Int { get }
    var hiddenSize: Int { get }
    var weightIH: Tensor { get }
    var weightHH: Tensor { get }
    var biasIH: Tensor? { get }
    var biasHH: Tensor? { get }
    /// Zeros of the right shapes for a batch of `batchSize`.
    func zeroState(batchSize: Int) -> RecurrentState
    /// One step: x `[B, I]` and the previous state → the new state (its `hidden` is the output).
    func callAsFunction(_ input: Tensor, state: RecurrentState) -> RecurrentState
    /// A whole sequence: x `[B, T, I]` → outputs `[B, T, H]` (the hidden state at every step)
    /// and the final state.
    func sequence(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState)
}

extension RecurrentCell {
    public var localParameters: [NamedTensor] {
        [("weight_ih", weightIH), ("weight_hh", weightHH)]
            + (biasIH.map { [("bias_ih", $0)] } ?? []) + (biasHH.map { [("bias_hh", $0)] } ?? [])
    }

    public func zeroState(batchSize: Int) -> RecurrentState {
        RecurrentState(hidden: Tensor.zeros([batchSize, hiddenSize]))
    }

    /// The sequence by calling the step `T` times (the generic driver for any cell).
    public func unrolled(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState) {
        precondition(
            input.rank == 3 && input.shape[2] == inputSize,
            "\(Self.self).unrolled: input \(input.shape) is not [B, T, \(inputSize)]")
        let (B, T) = (input.shape[0], input.shape[1])
        var state = state
        var outputs: [Tensor] = []
        outputs.reserveCapacity(T)
        for t in 0..<T {
            state = self(input.slice(axis: 1, start: t, end: t + 1).reshaped([B, inputSize]), state: state)
            outputs.append(state.hidden)
        }
        return (Tensor.stack(outputs, axis: 1), state)
    }

    public func sequence(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState) {
        unrolled(input, state: state)
    }

    /// `x·W_ihᵀ + b_ih` and `h·W_hhᵀ + b_hh`, each split into `gates` pieces of width H.
    func gateInputs(_ x: Tensor, _ h: Tensor, gates: Int) -> (input: [Tensor], hidden: [Tensor]) {
        precondition(
            x.rank == 2 && x.shape[1] == inputSize && h.shape == [x.shape[0], hiddenSize],
            "\(Self.self): input \(x.shape) and hidden \(h.shape) are not [B, \(inputSize)] and [B, \(hiddenSize)]")
        let sizes = [Int](repeating: hiddenSize, count: gates)
        return (
            linear(x, weight: weightIH, bias: biasIH).split(sizes: sizes, axis: 1),
            linear(h, weight: weightHH, bias: biasHH).split(sizes: sizes, axis: 1)
        )
    }
}

/// What every built-in cell stores: its sizes and the four PyTorch tensors, initialised as
/// PyTorch does, U(−1/√H, 1/√H) for every weight and bias.
public class RecurrentCellStorage {
    public let inputSize: Int, hiddenSize: Int
    public let weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?
    public var isTraining = true

    init(gates: Int, inputSize: Int, hiddenSize: Int, bias: Bool, generator: inout RandomGenerator) {
        precondition(
            inputSize > 0 && hiddenSize > 0,
            "recurrent cell: sizes must be positive, got input \(inputSize), hidden \(hiddenSize)")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let uniform = WeightInit.uniform(bound: 1 / Float(hiddenSize).squareRoot())
        weightIH = uniform.make([gates * hiddenSize, inputSize], fallback: uniform, generator: &generator)
        weightHH = uniform.make([gates * hiddenSize, hiddenSize], fallback: uniform, generator: &generator)
        biasIH = bias ? uniform.make([gates * hiddenSize], fallback: uniform, generator: &generator) : nil
        biasHH = bias ? uniform.make([gates * hiddenSize], fallback: uniform, generator: &generator) : nil
    }
}

// MARK: - Cells

/// Elman RNN cell with tanh (Elman 1990), as `torch.nn.RNNCell`:
/// `h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`. G = 1.
public final class RNNCell: RecurrentCellStorage, RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, generator: inout RandomGenerator) {
        super.init(gates: 1, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, generator: &generator)
    }

    public func callAsFunction(_ input: Tensor, state: RecurrentState) -> RecurrentState {
        let (x, h) = gateInputs(input, state.hidden, gates: 1)
        return RecurrentState(hidden: (x[0] + h[0]).tanh())
    }

    public func sequence(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState) {
        fusedRecurrentSequence(.rnn, cell: self, input: input, state: state)
    }
}

/// Long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et
/// al. 2000), as `torch.nn.LSTMCell`; gates stacked i, f, g, o (G = 4):
/// `i = σ(·), f = σ(·), g = tanh(·), o = σ(·)` of `x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh`,
/// `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`.
public final class LSTMCell: RecurrentCellStorage, RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, generator: inout RandomGenerator) {
        super.init(gates: 4, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, generator: &generator)
    }

    public func zeroState(batchSize: Int) -> RecurrentState {
        RecurrentState(hidden: Tensor.zeros([batchSize, hiddenSize]), cell: Tensor.zeros([batchSize, hiddenSize]))
    }

    public func callAsFunction(_ input: Tensor, state: RecurrentState) -> RecurrentState {
        precondition(state.cell != nil, "LSTMCell: the state has no cell tensor")
        let (x, h) = gateInputs(input, state.hidden, gates: 4)
        let i = (x[0] + h[0]).sigmoid(), f = (x[1] + h[1]).sigmoid()
        let g = (x[2] + h[2]).tanh(), o = (x[3] + h[3]).sigmoid()
        let c = f * state.cell! + i * g
        return RecurrentState(hidden: o * c.tanh(), cell: c)
    }

    public func sequence(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState) {
        fusedRecurrentSequence(.lstm, cell: self, input: input, state: state)
    }
}

/// Gated recurrent unit (Cho et al. 2014), as `torch.nn.GRUCell`; gates stacked r, z, n (G = 3):
/// `r = σ(x_r + h_r)`, `z = σ(x_z + h_z)`, `n = tanh(x_n + r ⊙ h_n)`, `h' = (1 − z) ⊙ n + z ⊙ h`,
/// where `x_• = x·W_i•ᵀ + b_i•` and `h_• = h·W_h•ᵀ + b_h•`.
public final class GRUCell: RecurrentCellStorage, RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, generator: inout RandomGenerator) {
        super.init(gates: 3, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, generator: &generator)
    }

    public func callAsFunction(_ input: Tensor, state: RecurrentState) -> RecurrentState {
        let (x, h) = gateInputs(input, state.hidden, gates: 3)
        let r = (x[0] + h[0]).sigmoid(), z = (x[1] + h[1]).sigmoid()
        let n = (x[2] + r * h[2]).tanh()
        return RecurrentState(hidden: (1 - z) * n + z * state.hidden)
    }

    public func sequence(_ input: Tensor, state: RecurrentState) -> (output: Tensor, state: RecurrentState) {
        fusedRecurrentSequence(.gru, cell: self, input: input, state: state)
    }
}

// MARK: - The driver

/// A stack of recurrent layers unrolled over a sequence, as `torch.nn.RNN/LSTM/GRU` with
/// `batch_first=True`: layer `k` reads the outputs of layer `k − 1` (with dropout between layers
/// in training, PyTorch's `dropout`), and the last layer's outputs are the result.
///
/// Layout: x `[B, T, I]` → outputs `[B, T, H]`; one `RecurrentState` per layer in and out (carry
/// it to the next call for a stateful run, `detached()` to truncate backpropagation).
/// Keys: `weight_ih_l{k} [G·H, I or H]`, `weight_hh_l{k} [G·H, H]`, `bias_ih_l{k}`, `bias_hh_l{k}`
/// `[G·H]` — exactly `nn.LSTM(I, H, num_layers=L, batch_first=True).state_dict()`'s.
public final class RecurrentNetwork<Cell: RecurrentCell>: Module {
    public let cells: [Cell]
    public let dropout: Dropout
    public var isTraining = true

    public init(
        inputSize: Int, hiddenSize: Int, layers: Int = 1, bias: Bool = true, dropout: Float = 0,
        generator: inout RandomGenerator
    ) {
        precondition(layers > 0, "RecurrentNetwork: layers must be positive, got \(layers)")
        var cells: [Cell] = []
        for layer in 0..<layers {
            cells.append(
                Cell(
                    inputSize: layer == 0 ? inputSize : hiddenSize, hiddenSize: hiddenSize, bias: bias,
                    generator: &generator))
        }
        self.cells = cells
        self.dropout = Dropout(probability: dropout, generator: &generator)
    }

    public var hiddenSize: Int { cells[0].hiddenSize }

    /// The cells' tensors renamed with their layer (`weight_ih` of layer 1 → `weight_ih_l1`), as
    /// PyTorch keeps them at the top level of `nn.LSTM`.
    public var localParameters: [NamedTensor] {
        cells.enumerated().flatMap { layer, cell in cell.localParameters.map { ("\($0.name)_l\(layer)", $0.tensor) } }
    }

    public var children: [(name: String, module: any Module)] { [("dropout", dropout)] }

    public func zeroState(batchSize: Int) -> [RecurrentState] { cells.map { $0.zeroState(batchSize: batchSize) } }

    /// Runs every layer over `input` `[B, T, I]` from `state` (zeros when nil).
    public func callAsFunction(
        _ input: Tensor, state: [RecurrentState]? = nil
    ) -> (output: Tensor, state: [RecurrentState]) {
        precondition(input.rank == 3, "RecurrentNetwork: input \(input.shape) is not [B, T, I]")
        let initial = state ?? zeroState(batchSize: input.shape[0])
        precondition(
            initial.count == cells.count, "RecurrentNetwork: \(initial.count) states for \(cells.count) layers")
        var x = input
        var final: [RecurrentState] = []
        for (layer, cell) in cells.enumerated() {
            if layer > 0 { x = dropout(x) }
            let (output, last) = cell.sequence(x, state: initial[layer])
            x = output
            final.append(last)
        }
        return (x, final)
    }
}

/// `torch.nn.RNN` (tanh), batch first.
public typealias RNN = RecurrentNetwork<RNNCell>
/// `torch.nn.LSTM`, batch first.
public typealias LSTM = RecurrentNetwork<LSTMCell>
/// `torch.nn.GRU`, batch first.
public typealias GRU = RecurrentNetwork<GRUCell>

// MARK: - Fused sequence kernel

enum RecurrentKind {
    case rnn, lstm, gru
    var gates: Int {
        switch self {
        case .rnn: 1
        case .lstm: 4
        case .gru: 3
        }
    }
}

@inline(__always) private func sigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// One recurrent layer over a whole sequence as a single op (Appleyard et al. 2016, "Optimizing
/// Performance of Recurrent Neural Networks on GPUs"): the input projection of every step is
/// one GEMM `[B·T, I]·W_ihᵀ`, each step adds one GEMM `[B, H]·W_hhᵀ` and a fused elementwise
/// pass over the gates. Backward runs through time with one GEMM per step for the hidden
/// gradient; the weight gradients are one GEMM each over all steps.
///
/// The recorded node holds `[B, T + 1, H]` for an LSTM (row T is the final cell state, so both
/// the outputs and `c_T` can carry gradients) and `[B, T, H]` otherwise.
func fusedRecurrentSequence<Cell: RecurrentCell>(
    _ kind: RecurrentKind, cell: Cell, input: Tensor,
    state: RecurrentState
) -> (output: Tensor, state: RecurrentState) {
    let I = cell.inputSize, H = cell.hiddenSize, G = kind.gates, GH = G * H
    precondition(
        input.rank == 3 && input.shape[2] == I, "\(Cell.self).sequence: input \(input.shape) is not [B, T, \(I)]")
    let (B, T) = (input.shape[0], input.shape[1])
    precondition(T > 0, "\(Cell.self).sequence: empty sequence \(input.shape)")
    precondition(
        state.hidden.shape == [B, H] && (kind != .lstm || state.cell?.shape == [B, H]),
        "\(Cell.self).sequence: state \(state.hidden.shape) / \(state.cell?.shape ?? []) is not [\(B), \(H)]")
    let lstm = kind == .lstm
    let L = lstm ? T + 1 : T  // rows per batch entry in the output node
    let h0 = state.hidden, c0 = lstm ? state.cell! : nil
    let wih = cell.weightIH, whh = cell.weightHH, bih = cell.biasIH, bhh = cell.biasHH

    // Input projection of every step at once: xp (B·T, G·H) = x·W_ihᵀ + b_ih (+ b_hh where it adds);
    // the rows start as the bias and the GEMM adds onto them (beta = 1), saving a pass.
    let xp = TensorStorage(uninitializedCount: B * T * GH)
    let bi = bih?.storage.pointer, bh = bhh?.storage.pointer
    // GRU keeps b_hn inside r ⊙ (h·W_hnᵀ + b_hn), so its hidden bias goes to the per-step product.
    let foldHiddenBias = kind != .gru
    let hasBias = bi != nil || (foldHiddenBias && bh != nil)
    if hasBias {
        let bias = xp.pointer
        bias.update(repeating: 0, count: GH)
        if let bi { for j in 0..<GH { bias[j] += bi[j] } }
        if foldHiddenBias, let bh { for j in 0..<GH { bias[j] += bh[j] } }
        for r in 1..<(B * T) { (xp.pointer + r * GH).update(from: bias, count: GH) }
    }
    stridedGemm(
        false, true, B * T, GH, I, input.storage.pointer, I, wih.storage.pointer, I, xp.pointer, GH,
        beta: hasBias ? 1 : 0)

    let out = TensorStorage(uninitializedCount: B * L * H)
    // Saved for backward: gate activations (B, T, G·H); LSTM cell states (B, T, H); GRU h·W_hnᵀ + b_hn (B, T, H).
    let acts = TensorStorage(uninitializedCount: B * T * GH)
    let extra = TensorStorage(uninitializedCount: kind == .rnn ? 0 : B * T * H)
    let hp = TensorStorage(uninitializedCount: B * GH)
    let y = out.pointer, a = acts.pointer, e = extra.pointer, hpp = hp.pointer, xpp = xp.pointer
    let w = whh.storage.pointer
    // Where the few-rows kernel runs, W_hhᵀ [H, G·H] is made once for all T steps so each step's
    // h·W_hhᵀ reads it row by row; elsewhere OpenBLAS takes W_hh transposed as it is.
    let wT = rowsTimesMatrixRunsKernel(rows: B, k: H) ? TensorStorage(uninitializedCount: H * GH) : nil
    if let wT {
        for g in 0..<GH {
            for k in 0..<H { wT.pointer[k * GH + g] = w[g * H + k] }
        }
    }
    for t in 0..<T {
        // The previous hidden state: h0, or the output rows of step t − 1 (stride L·H).
        let (prev, prevStride) =
            t == 0 ? (UnsafePointer(h0.storage.pointer), H) : (UnsafePointer(y + (t - 1) * H), L * H)
        if let wT {
            rowsTimesMatrix(
                prev, rows: B, ldx: prevStride, wT.pointer, k: H, n: GH, ldw: GH, into: hpp, ldy: GH, accumulate: false)
        } else {
            stridedGemm(false, true, B, GH, H, prev, prevStride, w, H, hpp, GH)
        }
        for b in 0..<B {
            let g = xpp + (b * T + t) * GH, hrow = hpp + b * GH, act = a + (b * T + t) * GH
            let h = y + (b * L + t) * H, hPrev = prev + b * prevStride
            switch kind {
            case .rnn:
                for j in 0..<H {
                    let v = fastTanh(g[j] + hrow[j])
                    h[j] = v
                    act[j] = v
                }
            case .lstm:
                // Short loops over at most four arrays each, so every one of them vectorises.
                let c = e + (b * T + t) * H
                let cPrev = t == 0 ? UnsafePointer(c0!.storage.pointer + b * H) : UnsafePointer(e + (b * T + t - 1) * H)
                if Runtime.hasAVX2 {
                    // Eight lanes at a time with AVX2's exp (the loops below run four: 18 % of
                    // an LSTM training step went to them and their backward).
                    cortex_lstm_cell_forward_avx2(g, hrow, cPrev, act, c, h, H)
                    continue
                }
                for j in 0..<GH { act[j] = g[j] + hrow[j] }
                for j in 0..<(2 * H) { act[j] = sigmoid(act[j]) }
                let gate = act + 2 * H, out = act + 3 * H
                for j in 0..<H { gate[j] = fastTanh(gate[j]) }
                for j in 0..<H { out[j] = sigmoid(out[j]) }
                let f = act + H
                for j in 0..<H { c[j] = f[j] * cPrev[j] }
                for j in 0..<H { c[j] += act[j] * gate[j] }
                for j in 0..<H { h[j] = out[j] * fastTanh(c[j]) }
            case .gru:
                let hn = e + (b * T + t) * H
                for j in 0..<H {
                    let hb = bh?[2 * H + j] ?? 0
                    let r = sigmoid(g[j] + hrow[j] + (bh?[j] ?? 0))
                    let z = sigmoid(g[H + j] + hrow[H + j] + (bh?[H + j] ?? 0))
                    let hnv = hrow[2 * H + j] + hb
                    let n = fastTanh(g[2 * H + j] + r * hnv)
                    hn[j] = hnv
                    h[j] = (1 - z) * n + z * hPrev[j]
                    act[j] = r
                    act[H + j] = z
                    act[2 * H + j] = n
                }
            }
        }
    }
    if lstm {
        for b in 0..<B { (y + (b * L + T) * H).update(from: e + (b * T + T - 1) * H, count: H) }
    }

    var inputs = [input, h0] + (c0.map { [$0] } ?? []) + [wih, whh]
    if let bih { inputs.append(bih) }
    if let bhh { inputs.append(bhh) }
    let name = kind == .lstm ? "lstm" : kind == .gru ? "gru" : "rnn"
    let node = Tensor.record(name, shape: [B, L, H], storage: out, inputs: inputs) { gradOut in
        let dy = gradOut.storage.pointer, y = out.pointer, a = acts.pointer, e = extra.pointer
        let w = whh.storage.pointer
        // Gradients of the pre-activations fed by x (dXp) and by h (dHp); the same except in a GRU.
        let dxpStorage = TensorStorage(uninitializedCount: B * T * GH)
        let dhpStorage = kind == .gru ? TensorStorage(uninitializedCount: B * T * GH) : dxpStorage
        let dxp = dxpStorage.pointer, dhp = dhpStorage.pointer
        let dhRec = TensorStorage(count: B * H)  // dL/dh_{t} from step t + 1
        let dcRec = TensorStorage(count: lstm ? B * H : 0)
        if lstm { for b in 0..<B { (dcRec.pointer + b * H).update(from: dy + (b * L + T) * H, count: H) } }
        let dhr = dhRec.pointer, dcr = dcRec.pointer
        let tanhStorage = TensorStorage(uninitializedCount: H)
        let tanhScratch = tanhStorage.pointer
        for t in stride(from: T - 1, through: 0, by: -1) {
            for b in 0..<B {
                let gy = dy + (b * L + t) * H, dh = dhr + b * H
                let act = a + (b * T + t) * GH, dg = dxp + (b * T + t) * GH
                switch kind {
                case .rnn:
                    for j in 0..<H {
                        let v = act[j], d = gy[j] + dh[j]
                        dg[j] = d * (1 - v * v)
                    }
                case .lstm:
                    // As in the forward pass: short loops that vectorise. dh becomes d = dy + dh.
                    let c = e + (b * T + t) * H, dc = dcr + b * H, tc = tanhScratch
                    let cPrev =
                        t == 0 ? UnsafePointer(c0!.storage.pointer + b * H) : UnsafePointer(e + (b * T + t - 1) * H)
                    if Runtime.hasAVX2 {
                        cortex_lstm_cell_backward_avx2(gy, dh, act, c, cPrev, dc, dg, H)
                        continue
                    }
                    let i = act, f = act + H, gg = act + 2 * H, o = act + 3 * H
                    for j in 0..<H { dh[j] += gy[j] }
                    for j in 0..<H { tc[j] = fastTanh(c[j]) }
                    for j in 0..<H { dc[j] += dh[j] * o[j] * (1 - tc[j] * tc[j]) }
                    let di = dg, df = dg + H, dgg = dg + 2 * H, dout = dg + 3 * H
                    for j in 0..<H { dout[j] = dh[j] * tc[j] * o[j] * (1 - o[j]) }
                    for j in 0..<H { di[j] = dc[j] * gg[j] * i[j] * (1 - i[j]) }
                    for j in 0..<H { dgg[j] = dc[j] * i[j] * (1 - gg[j] * gg[j]) }
                    for j in 0..<H { df[j] = dc[j] * cPrev[j] * f[j] * (1 - f[j]) }
                    for j in 0..<H { dc[j] *= f[j] }
                case .gru:
                    let hn = e + (b * T + t) * H, dhh = dhp + (b * T + t) * GH
                    let hPrev =
                        t == 0 ? UnsafePointer(h0.storage.pointer + b * H) : UnsafePointer(y + (b * L + t - 1) * H)
                    for j in 0..<H {
                        let r = act[j], z = act[H + j], n = act[2 * H + j]
                        let d = gy[j] + dh[j]
                        let dnPre = d * (1 - z) * (1 - n * n)
                        let drPre = dnPre * hn[j] * r * (1 - r)
                        let dzPre = d * (hPrev[j] - n) * z * (1 - z)
                        dg[j] = drPre
                        dg[H + j] = dzPre
                        dg[2 * H + j] = dnPre
                        dhh[j] = drPre
                        dhh[H + j] = dzPre
                        dhh[2 * H + j] = dnPre * r
                        dh[j] = d * z  // the direct path; the GEMM below adds the rest
                    }
                }
            }
            // dh_{t−1} = dHp_t·W_hh (+ z ⊙ dh for a GRU, already in dhr).
            rowsTimesMatrix(
                dhp + t * GH, rows: B, ldx: T * GH, w, k: GH, n: H, ldw: H, into: dhr, ldy: H, accumulate: kind == .gru)
        }

        var grads: [Tensor?] = []
        // dx = dXp·W_ih
        if input.requiresGrad {
            let dx = TensorStorage(uninitializedCount: B * T * I)
            stridedGemm(false, false, B * T, I, GH, dxp, GH, wih.storage.pointer, I, dx.pointer, I)
            grads.append(Tensor(shape: input.shape, storage: dx))
        } else {
            grads.append(nil)
        }
        grads.append(Tensor(shape: [B, H], storage: dhRec))
        if lstm { grads.append(Tensor(shape: [B, H], storage: dcRec)) }
        // dW_ih = dXpᵀ·x over all steps at once.
        let dwih = TensorStorage(uninitializedCount: GH * I)
        stridedGemm(true, false, GH, I, B * T, dxp, GH, input.storage.pointer, I, dwih.pointer, I)
        grads.append(Tensor(shape: wih.shape, storage: dwih))
        // dW_hh = dHpᵀ·h_{t−1}: the previous hidden states gathered into one (B·T, H) matrix.
        let hPrevAll = TensorStorage(uninitializedCount: B * T * H)
        for b in 0..<B {
            (hPrevAll.pointer + b * T * H).update(from: h0.storage.pointer + b * H, count: H)
            if T > 1 { (hPrevAll.pointer + (b * T + 1) * H).update(from: y + b * L * H, count: (T - 1) * H) }
        }
        let dwhh = TensorStorage(uninitializedCount: GH * H)
        stridedGemm(true, false, GH, H, B * T, dhp, GH, hPrevAll.pointer, H, dwhh.pointer, H)
        grads.append(Tensor(shape: whh.shape, storage: dwhh))
        func columnSums(_ p: UnsafeMutablePointer<Float>) -> Tensor {
            let sums = TensorStorage(count: GH)
            for r in 0..<(B * T) {
                let row = p + r * GH, s = sums.pointer
                for j in 0..<GH { s[j] += row[j] }
            }
            return Tensor(shape: [GH], storage: sums)
        }
        if bih != nil { grads.append(columnSums(dxp)) }
        if bhh != nil { grads.append(columnSums(dhp)) }
        return grads
    }
    let output = lstm ? node.slice(axis: 1, start: 0, end: T) : node
    let last = output.slice(axis: 1, start: T - 1, end: T).reshaped([B, H])
    let finalCell = lstm ? node.slice(axis: 1, start: T, end: T + 1).reshaped([B, H]) : nil
    return (output, RecurrentState(hidden: last, cell: finalCell))
}
