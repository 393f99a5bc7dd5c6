import Cortex
import CortexTestSupport
import Foundation
import XCTest

/// Recurrent cells (step by primitive ops), the fused sequence kernels against the unrolled
/// steps, finite differences, a hand-computed LSTM step and PyTorch's names.
final class RecurrentTests: XCTestCase {
    private var generator = RandomGenerator(seed: 5)

    private func randn(_ shape: [Int], grad: Bool = true) -> Tensor {
        Tensor.randn(shape, using: &generator, requiresGrad: grad)
    }

    private func state(_ cell: any RecurrentCell, batch: Int, lstm: Bool) -> RecurrentState {
        RecurrentState(hidden: randn([batch, cell.hiddenSize]), cell: lstm ? randn([batch, cell.hiddenSize]) : nil)
    }

    private func cells(inputSize: Int = 3, hiddenSize: Int = 4) -> [(any RecurrentCell, Bool)] {
        [
            (RNNCell(inputSize: inputSize, hiddenSize: hiddenSize, generator: &generator), false),
            (LSTMCell(inputSize: inputSize, hiddenSize: hiddenSize, generator: &generator), true),
            (GRUCell(inputSize: inputSize, hiddenSize: hiddenSize, generator: &generator), false)
        ]
    }

    func testCellStepGradients() {
        for (cell, lstm) in cells() {
            let x = randn([2, 3]), s = state(cell, batch: 2, lstm: lstm)
            let inputs = [x, s.hidden] + (s.cell.map { [$0] } ?? []) + cell.parameters()
            checkGradients(inputs) { t in
                let next = cell(t[0], state: RecurrentState(hidden: t[1], cell: lstm ? t[2] : nil))
                return lstm ? Tensor.concat([next.hidden, next.cell!], axis: 1) : next.hidden
            }
        }
    }

    /// Outputs and final states of the fused kernel equal the unrolled steps, and so do the
    /// gradients of a loss that uses every output and the final state. The wide case (280 hidden
    /// units, 9 rows) runs each step's h·W_hhᵀ and dgates·W_hh through the AVX-512 kernel that
    /// reads W in place, at a width that is not a multiple of its 32 columns and a batch across
    /// its 8-row blocks, and once more through OpenBLAS (the AVX-512 kernels off).
    func testFusedSequenceMatchesUnrolledSteps() {
        checkFusedAgainstUnrolled(batch: 3, inputSize: 3, hiddenSize: 4, accuracy: 1e-5)
        // Two vectors of eight and five more units: the AVX2 LSTM cell's body and its tail.
        checkFusedAgainstUnrolled(batch: 2, inputSize: 3, hiddenSize: 21, accuracy: 1e-5)
        let previous = Runtime.usesAVX512
        defer { Runtime.usesAVX512 = previous }
        for wide in Runtime.hasAVX512 ? [true, false] : [false] {
            Runtime.usesAVX512 = wide
            checkFusedAgainstUnrolled(batch: 9, inputSize: 5, hiddenSize: 280, accuracy: 1e-4)
        }
    }

    private func checkFusedAgainstUnrolled(batch: Int, inputSize: Int, hiddenSize: Int, accuracy: Float) {
        for (cell, lstm) in cells(inputSize: inputSize, hiddenSize: hiddenSize) {
            let x = randn([batch, 5, inputSize]), s = state(cell, batch: batch, lstm: lstm)
            let tensors = [x, s.hidden] + (s.cell.map { [$0] } ?? []) + cell.parameters()
            let wOut = randn([batch, 5, hiddenSize], grad: false), wLast = randn([batch, hiddenSize], grad: false)
            func run(_ fused: Bool) -> ([Float], [[Float]]) {
                tensors.forEach { $0.zeroGrad() }
                let (output, last) = fused ? cell.sequence(x, state: s) : cell.unrolled(x, state: s)
                var loss = (output * wOut).sum() + (last.hidden * wLast).sum()
                if lstm { loss = loss + (last.cell! * last.cell!).sum() }
                loss.backward()
                let values = output.scalars + last.hidden.scalars + (last.cell?.scalars ?? [])
                return (values, tensors.map { $0.grad!.scalars })
            }
            let (fusedValues, fusedGrads) = run(true)
            let (stepValues, stepGrads) = run(false)
            let label = "\(type(of: cell)) with \(hiddenSize) units, AVX-512 kernels \(Runtime.usesAVX512)"
            assertClose(fusedValues, stepValues, accuracy: accuracy, "\(label): values")
            for (index, (a, b)) in zip(fusedGrads, stepGrads).enumerated() {
                assertClose(a, b, accuracy: 10 * accuracy, "\(label): gradient of tensor \(index)")
            }
        }
    }

    func testFusedSequenceGradientsByFiniteDifferences() {
        for (cell, lstm) in cells() {
            let x = randn([2, 4, 3]), s = state(cell, batch: 2, lstm: lstm)
            let inputs = [x, s.hidden] + (s.cell.map { [$0] } ?? []) + cell.parameters()
            checkGradients(inputs) { t in
                let (output, last) = cell.sequence(t[0], state: RecurrentState(hidden: t[1], cell: lstm ? t[2] : nil))
                return lstm ? Tensor.concat([output.reshaped([2, 16]), last.cell!], axis: 1) : output
            }
        }
    }

    func testLSTMStepByHand() {
        // One unit, I = 1: gate weights (i, f, g, o) = W_ih [0.1, 0.2, 0.3, 0.4], W_hh [0.5, 0.6, 0.7, 0.8],
        // b_ih = [0.01, 0.02, 0.03, 0.04], b_hh = 0; x = 1, h = 0.5, c = 0.2.
        let cell = LSTMCell(inputSize: 1, hiddenSize: 1, generator: &generator)
        let values: [(Tensor?, [Float])] = [
            (cell.weightIH, [0.1, 0.2, 0.3, 0.4]), (cell.weightHH, [0.5, 0.6, 0.7, 0.8]),
            (cell.biasIH, [0.01, 0.02, 0.03, 0.04]), (cell.biasHH, [0, 0, 0, 0])
        ]
        for (tensor, data) in values { for (k, v) in data.enumerated() { tensor!.storage.pointer[k] = v } }
        func σ(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        let i = σ(0.1 + 0.25 + 0.01), f = σ(0.2 + 0.3 + 0.02), g = tanh(0.3 + 0.35 + 0.03), o = σ(0.4 + 0.4 + 0.04)
        let c = f * 0.2 + i * g, h = o * tanh(c)
        let x = Tensor(shape: [1, 1, 1], data: [1])
        let s = RecurrentState(hidden: Tensor(shape: [1, 1], data: [0.5]), cell: Tensor(shape: [1, 1], data: [0.2]))
        let step = cell(x.reshaped([1, 1]), state: s)
        let (output, last) = cell.sequence(x, state: s)
        assertClose([step.hidden.item, step.cell!.item], [Float(h), Float(c)], accuracy: 1e-6)
        assertClose([output.item, last.cell!.item], [Float(h), Float(c)], accuracy: 1e-6)
    }

    func testPyTorchNamesAndStackedLayers() {
        let lstm = LSTM(inputSize: 3, hiddenSize: 5, layers: 2, generator: &generator)
        let names = lstm.stateDict().map { "\($0.name) \($0.tensor.shape)" }
        XCTAssertEqual(
            names,
            [
                "weight_ih_l0 [20, 3]", "weight_hh_l0 [20, 5]", "bias_ih_l0 [20]", "bias_hh_l0 [20]",
                "weight_ih_l1 [20, 5]", "weight_hh_l1 [20, 5]", "bias_ih_l1 [20]", "bias_hh_l1 [20]"
            ])
        XCTAssertEqual(GRU(inputSize: 3, hiddenSize: 5, generator: &generator).stateDict().first?.tensor.shape, [15, 3])
        XCTAssertEqual(RNN(inputSize: 3, hiddenSize: 5, generator: &generator).stateDict().first?.tensor.shape, [5, 3])
        // Carried state: two halves with the state passed on equal one run over the whole sequence.
        let x = randn([2, 6, 3], grad: false)
        let (whole, _) = lstm(x)
        let (first, mid) = lstm(x.slice(axis: 1, start: 0, end: 3))
        let (second, _) = lstm(x.slice(axis: 1, start: 3, end: 6), state: mid.map { $0.detached() })
        assertClose(Tensor.concat([first, second], axis: 1).scalars, whole.scalars, accuracy: 1e-6)
        let xg = randn([2, 3, 3])
        let small = GRU(inputSize: 3, hiddenSize: 2, layers: 2, generator: &generator)
        checkGradients([xg] + small.parameters()) { small($0[0]).output }
    }
}
