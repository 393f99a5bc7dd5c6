import Cortex
import CortexTestSupport
import XCTest

final class ConvolutionTests: XCTestCase {
    private let image = Tensor(shape: [1, 1, 3, 3], data: (0..<9).map(Float.init))
    private let kernel = Tensor(shape: [1, 1, 2, 2], data: [0, 1, 2, 3])

    func testTextbookCrossCorrelation() {
        assertTensor(conv2d(image, weight: kernel), shape: [1, 1, 2, 2], [19, 25, 37, 43])
    }

    func testTextbookPadding() {
        assertTensor(
            conv2d(image, weight: kernel, padding: (1, 1)), shape: [1, 1, 4, 4],
            [0, 3, 8, 4, 9, 19, 25, 10, 21, 37, 43, 16, 6, 7, 8, 0])
    }

    func testTextbookPaddingAndStride() {
        assertTensor(conv2d(image, weight: kernel, stride: (3, 2), padding: (1, 1)), shape: [1, 1, 2, 2], [0, 8, 6, 8])
    }

    func testDilation() {
        // Kernel [[1, 0], [0, 1]] dilated by 2 on 0…15 (4×4): out[y, x] = in[y, x] + in[y + 2, x + 2].
        let x = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
        let w = Tensor(shape: [1, 1, 2, 2], data: [1, 0, 0, 1])
        assertTensor(conv2d(x, weight: w, dilation: (2, 2)), shape: [1, 1, 2, 2], [10, 12, 18, 20])
    }

    func testPointwiseKernelMixesChannels() {
        // 1×1 kernel: out = 2·x₀ + 0.5·x₁ + bias 1 at every pixel.
        let x = Tensor(shape: [1, 2, 2, 2], data: [1, 2, 3, 4, 10, 20, 30, 40])
        let w = Tensor(shape: [1, 2, 1, 1], data: [2, 0.5])
        assertTensor(conv2d(x, weight: w, bias: Tensor([1])), shape: [1, 1, 2, 2], [8, 15, 22, 29])
    }

    func testKernelAsLargeAsTheInput() {
        // One output: 1·1 + 0·2 − 1·3 + 2·4 + 0·5 + 1·6 = 12.
        let x = Tensor(shape: [1, 1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        let w = Tensor(shape: [1, 1, 2, 3], data: [1, 0, -1, 2, 0, 1])
        assertTensor(conv2d(x, weight: w), shape: [1, 1, 1, 1], [12])
    }

    /// Every term of the definition: `body(n, o, y, x, c, i, j, r, q)` for output pixel `(y, x)` of
    /// image `n`, channel `o`, and each weight `(c, i, j)` whose input pixel `(r, q)` lies inside
    /// the image (zero padding contributes nothing); `pixel(n, o, y, x)` first for each output pixel.
    private func forEachTerm(
        input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
        pixel: (Int, Int, Int, Int) -> Void = { _, _, _, _ in },
        _ body: (Int, Int, Int, Int, Int, Int, Int, Int, Int) -> Void
    ) {
        let (N, C, H, W) = (input[0], input[1], input[2], input[3])
        let (O, kH, kW) = (weight[0], weight[2], weight[3])
        let oH = (H + 2 * padding.0 - dilation.0 * (kH - 1) - 1) / stride.0 + 1
        let oW = (W + 2 * padding.1 - dilation.1 * (kW - 1) - 1) / stride.1 + 1
        for n in 0..<N {
            for o in 0..<O {
                for y in 0..<oH {
                    for x in 0..<oW {
                        pixel(n, o, y, x)
                        for c in 0..<C {
                            for i in 0..<kH {
                                for j in 0..<kW {
                                    let r = y * stride.0 - padding.0 + i * dilation.0
                                    let q = x * stride.1 - padding.1 + j * dilation.1
                                    guard r >= 0, r < H, q >= 0, q < W else { continue }
                                    body(n, o, y, x, c, i, j, r, q)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Direct convolution: the definition summed in double precision, as an oracle for the kernels.
    private func directConv(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), padding: (Int, Int),
        dilation: (Int, Int)
    ) -> [Float] {
        var out: [Double] = []
        forEachTerm(
            input: x.shape, weight: w.shape, stride: stride, padding: padding, dilation: dilation,
            pixel: { _, o, _, _ in out.append(Double(b?[o] ?? 0)) }
        ) { n, o, _, _, c, i, j, r, q in
            out[out.count - 1] += Double(x[n, c, r, q]) * Double(w[o, c, i, j])
        }
        return out.map(Float.init)
    }

    /// ∂weight, ∂bias, ∂input of `conv2d` for an upstream gradient, summed from the definition in
    /// double precision (the oracle for the kernels' backward passes).
    private func referenceGradients(
        _ x: Tensor, _ w: Tensor, upstream: Tensor, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    ) -> (weight: [Float], bias: [Float], input: [Float]) {
        let (C, H, W) = (x.shape[1], x.shape[2], x.shape[3])
        let (O, kH, kW) = (w.shape[0], w.shape[2], w.shape[3])
        var dW = [Double](repeating: 0, count: w.count), dB = [Double](repeating: 0, count: O)
        var dX = [Double](repeating: 0, count: x.count)
        forEachTerm(
            input: x.shape, weight: w.shape, stride: stride, padding: padding, dilation: dilation,
            pixel: { n, o, y, x in dB[o] += Double(upstream[n, o, y, x]) }
        ) { n, o, y, xx, c, i, j, r, q in
            let g = Double(upstream[n, o, y, xx])
            dW[((o * C + c) * kH + i) * kW + j] += g * Double(x[n, c, r, q])
            dX[((n * C + c) * H + r) * W + q] += g * Double(w[o, c, i, j])
        }
        return (dW.map(Float.init), dB.map(Float.init), dX.map(Float.init))
    }

    /// Runs `y.backward` with a random upstream gradient and compares the three gradients with
    /// `referenceGradients`.
    private func checkBackward(
        _ y: Tensor, _ x: Tensor, _ w: Tensor, _ b: Tensor, stride: (Int, Int), padding: (Int, Int),
        dilation: (Int, Int), accuracy: Float, _ label: String, using generator: inout RandomGenerator
    ) {
        let upstream = Tensor.randn(y.shape, using: &generator)
        y.backward(gradient: upstream)
        let expected = referenceGradients(x, w, upstream: upstream, stride: stride, padding: padding, dilation: dilation)
        assertClose(w.grad!.scalars, expected.weight, accuracy: accuracy, "weight, \(label)")
        assertClose(b.grad!.scalars, expected.bias, accuracy: accuracy, "bias, \(label)")
        assertClose(x.grad!.scalars, expected.input, accuracy: accuracy, "input, \(label)")
    }

    func testMatchesDirectConvolution() {
        var generator = RandomGenerator(seed: 5)
        let cases: [(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int))] = [
            ([3, 4, 9, 7], [5, 4, 3, 2], (2, 1), (1, 2), (1, 2)),
            ([2, 4, 20, 20], [8, 4, 8, 8], (4, 4), (0, 0), (1, 1)),
            ([1, 3, 6, 5], [2, 3, 3, 3], (1, 1), (1, 1), (1, 1)),
            ([2, 2, 5, 8], [3, 2, 1, 1], (2, 3), (0, 1), (1, 1)),
            ([2, 3, 4, 4], [2, 3, 2, 2], (1, 1), (3, 3), (2, 2)),  // padding beyond the kernel: zero borders
            // Rows long enough for the eight-float moves of strides 1, 2 and 4 (and their tails,
            // and loads that would run past the image's end on its last row).
            ([2, 2, 44, 84], [3, 2, 8, 8], (4, 4), (0, 2), (1, 1)),
            ([2, 3, 21, 40], [2, 3, 4, 4], (2, 2), (1, 1), (1, 1)),
            ([3, 2, 28, 28], [3, 2, 5, 5], (1, 1), (2, 2), (1, 1)),
            ([1, 1, 9, 67], [2, 1, 3, 3], (2, 4), (1, 0), (1, 1))
        ]
        for testCase in cases {
            let x = Tensor.randn(testCase.input, using: &generator)
            let w = Tensor.randn(testCase.weight, using: &generator)
            let b = Tensor.randn([testCase.weight[0]], using: &generator)
            let y = conv2d(
                x, weight: w, bias: b, stride: testCase.stride, padding: testCase.padding, dilation: testCase.dilation)
            assertClose(
                y.scalars,
                directConv(
                    x, w, b, stride: testCase.stride, padding: testCase.padding,
                    dilation: testCase.dilation), accuracy: 1e-4, "case \(testCase)")
        }
    }

    func testGradients() {
        var generator = RandomGenerator(seed: 6)
        // Stride, padding, dilation, bias, several channels, batch 2, non-square everything.
        let x = Tensor.randn([2, 3, 5, 6], using: &generator, requiresGrad: true)
        let w = Tensor.randn([4, 3, 3, 2], using: &generator, requiresGrad: true)
        let b = Tensor.randn([4], using: &generator, requiresGrad: true)
        checkGradients([x, w, b]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 2), dilation: (1, 2))
        }
        // Batch 1, stride larger than the kernel (pixels no window touches get zero gradient), no bias.
        let x1 = Tensor.randn([1, 2, 7, 7], using: &generator, requiresGrad: true)
        let w1 = Tensor.randn([3, 2, 2, 2], using: &generator, requiresGrad: true)
        checkGradients([x1, w1]) { conv2d($0[0], weight: $0[1], stride: (3, 3)) }
        // 1×1 kernel and a kernel as large as the padded input.
        let w2 = Tensor.randn([2, 2, 1, 1], using: &generator, requiresGrad: true)
        checkGradients([x1, w2]) { conv2d($0[0], weight: $0[1]) }
        let w3 = Tensor.randn([2, 2, 9, 9], using: &generator, requiresGrad: true)
        checkGradients([x1, w3]) { conv2d($0[0], weight: $0[1], padding: (1, 1)) }
    }

    /// Layers with at most 32 weights per output channel and 16 channels, stride 1 (LeNet's first
    /// layer) run direct kernels instead of im2col + GEMM: values against the six-loop oracle,
    /// all three gradients against sums written out here in double precision, and finite differences.
    func testDirectKernelLayersMatchTheDefinition() {
        var generator = RandomGenerator(seed: 14)
        let cases: [(input: [Int], weight: [Int], padding: (Int, Int))] = [
            ([3, 1, 28, 28], [6, 1, 5, 5], (2, 2)),  // LeNet's first layer
            ([2, 3, 9, 35], [5, 3, 3, 3], (0, 1)),  // a block of four channels and one more; 16-column tails
            ([2, 2, 4, 4], [16, 2, 3, 3], (3, 3))  // padding wider than the kernel reaches
        ]
        for testCase in cases {
            let x = Tensor.randn(testCase.input, using: &generator, requiresGrad: true)
            let w = Tensor.randn(testCase.weight, using: &generator, requiresGrad: true)
            let b = Tensor.randn([testCase.weight[0]], using: &generator, requiresGrad: true)
            let y = conv2d(x, weight: w, bias: b, padding: testCase.padding)
            let label = "case \(testCase)"
            assertClose(
                y.scalars, directConv(x, w, b, stride: (1, 1), padding: testCase.padding, dilation: (1, 1)),
                accuracy: 1e-4, label)
            checkBackward(
                y, x, w, b, stride: (1, 1), padding: testCase.padding, dilation: (1, 1), accuracy: 1e-4, label,
                using: &generator)
        }
        let x = Tensor.randn([2, 2, 6, 7], using: &generator, requiresGrad: true)
        let w = Tensor.randn([3, 2, 3, 3], using: &generator, requiresGrad: true)
        let b = Tensor.randn([3], using: &generator, requiresGrad: true)
        checkGradients([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }
    }

    /// Unpadded layers with a multiple of 16 output channels (the Nature DQN's, the ViT's patch
    /// embedding) run the implicit-GEMM kernel forward, with a graph and without one, and their
    /// backward recomputes the columns: values against the six-loop oracle, all three gradients
    /// against sums written out here in double precision, and finite differences. Pixel counts
    /// are not multiples of the kernels' tiles (six pixels with AVX2, eight with AVX-512, which
    /// takes the layers with a multiple of 32 channels), tiles cross image boundaries; on a
    /// machine with AVX-512 the cases run once with it and once with the AVX2 kernel alone.
    func testImplicitKernelLayersMatchTheDefinition() {
        let previous = Runtime.usesAVX512
        defer { Runtime.usesAVX512 = previous }
        for wide in Runtime.hasAVX512 ? [true, false] : [false] {
            Runtime.usesAVX512 = wide
            checkImplicitKernelLayers(label: wide ? "AVX-512" : "AVX2")
        }
    }

    func checkImplicitKernelLayers(label kernel: String) {
        var generator = RandomGenerator(seed: 15)
        let cases: [(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int))] = [
            ([3, 4, 84, 84], [32, 4, 8, 8], (4, 4), (0, 0), (1, 1)),  // the Nature DQN's layers
            ([2, 32, 20, 20], [64, 32, 4, 4], (2, 2), (0, 0), (1, 1)),
            ([3, 64, 9, 9], [64, 64, 3, 3], (1, 1), (0, 0), (1, 1)),
            ([1, 3, 7, 11], [16, 3, 2, 3], (1, 2), (0, 0), (2, 1)),  // 3 × 5 = 15 pixels, dilation
            ([5, 1, 28, 28], [48, 1, 4, 4], (4, 4), (0, 0), (1, 1)),  // a patch embedding, 49 pixels an image
            // padded (the kernel reads a zero-padded copy): a Go tower's 3×3 layers on 19×19 and
            // 9×9 boards, a ResNet's strided layer, uneven padding with dilation
            ([2, 17, 19, 19], [32, 17, 3, 3], (1, 1), (1, 1), (1, 1)),
            ([3, 32, 9, 9], [32, 32, 3, 3], (1, 1), (1, 1), (1, 1)),
            ([2, 16, 15, 13], [32, 16, 3, 3], (2, 2), (1, 1), (1, 1)),
            ([1, 3, 8, 7], [16, 3, 3, 2], (1, 1), (2, 1), (2, 1))
        ]
        for testCase in cases {
            let x = Tensor.randn(testCase.input, using: &generator, requiresGrad: true)
            let w = Tensor.randn(testCase.weight, using: &generator, requiresGrad: true)
            let b = Tensor.randn([testCase.weight[0]], using: &generator, requiresGrad: true)
            let label = "\(kernel), case \(testCase)"
            let (stride, padding, dilation) = (testCase.stride, testCase.padding, testCase.dilation)
            let values = directConv(x, w, b, stride: stride, padding: padding, dilation: dilation)
            let inference = withNoGrad {
                conv2d(x, weight: w, bias: b, stride: stride, padding: padding, dilation: dilation)
            }
            assertClose(inference.scalars, values, accuracy: 1e-3, "no graph, \(label)")
            let y = conv2d(x, weight: w, bias: b, stride: stride, padding: padding, dilation: dilation)
            assertClose(y.scalars, values, accuracy: 1e-3, label)
            checkBackward(
                y, x, w, b, stride: stride, padding: padding, dilation: dilation, accuracy: 2e-3, label,
                using: &generator)
        }
        let x = Tensor.randn([2, 2, 6, 7], using: &generator, requiresGrad: true)
        let w = Tensor.randn([16, 2, 3, 2], using: &generator, requiresGrad: true)
        let b = Tensor.randn([16], using: &generator, requiresGrad: true)
        checkGradients([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1)) }
    }

    func testImplicitWeightGradientOfAFirstLayer() {
        // A network's first layer (input without grad) on the implicit path: the weight and bias
        // gradients come from the implicit weight-gradient kernels alone (no columns are made),
        // here with 8 × 10 = 80 pixels an image (chunks of pixels end mid-row and mid-image) and
        // 3 · 5 · 3 = 45 taps (not a multiple of the kernels' 6 or 8), with and without AVX-512.
        let previous = Runtime.usesAVX512
        defer { Runtime.usesAVX512 = previous }
        for wide in Runtime.hasAVX512 ? [true, false] : [false] {
            Runtime.usesAVX512 = wide
            for outputs in [16, 32, 48, 64] {
                var generator = RandomGenerator(seed: 21 + UInt64(outputs))
                let x = Tensor.randn([5, 3, 19, 21], using: &generator)
                let w = Tensor.randn([outputs, 3, 5, 3], using: &generator, requiresGrad: true)
                let b = Tensor.randn([outputs], using: &generator, requiresGrad: true)
                let y = conv2d(x, weight: w, bias: b, stride: (2, 2))
                XCTAssertEqual(y.shape, [5, outputs, 8, 10])
                let upstream = Tensor.randn(y.shape, using: &generator)
                y.backward(gradient: upstream)
                let expected = referenceGradients(
                    x, w, upstream: upstream, stride: (2, 2), padding: (0, 0), dilation: (1, 1))
                let label = "\(outputs) outputs, AVX-512 \(wide)"
                assertClose(w.grad!.scalars, expected.weight, accuracy: 1e-3, "weight, \(label)")
                assertClose(b.grad!.scalars, expected.bias, accuracy: 1e-3, "bias, \(label)")
                XCTAssertNil(x.grad)
            }
        }
    }

    func testOnlyTheWeightNeedsGrad() {
        // Input without grad (as a network's first layer): weight and bias still get theirs.
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.randn([2, 2, 6, 6], using: &generator)
        let w = Tensor.randn([3, 2, 3, 3], using: &generator, requiresGrad: true)
        let b = Tensor.randn([3], using: &generator, requiresGrad: true)
        checkGradients([w, b]) { conv2d(x, weight: $0[0], bias: $0[1], stride: (2, 2)) }
        XCTAssertNil(x.grad)
    }

    func testThreadedBlocksMatchOneThread() {
        // Big enough to split the batch between two threads and into four blocks of 5 images
        // (at most 9 fit the 1 MB column budget): the split must not change any sum.
        var generator = RandomGenerator(seed: 18)
        let x = Tensor.randn([20, 4, 30, 30], using: &generator, requiresGrad: true)
        let w = Tensor.randn([8, 4, 3, 3], using: &generator, requiresGrad: true)
        let b = Tensor.randn([8], using: &generator, requiresGrad: true)
        let projection = Tensor.randn([20, 8, 28, 28], using: &generator)
        func run(threads: Int) -> [[Float]] {
            let saved = Runtime.blasThreads
            Runtime.blasThreads = threads
            defer { Runtime.blasThreads = saved }
            x.zeroGrad()
            w.zeroGrad()
            b.zeroGrad()
            let y = conv2d(x, weight: w, bias: b, padding: (0, 0))
            y.backward(gradient: projection)
            return [y.scalars, x.grad!.scalars, w.grad!.scalars, b.grad!.scalars]
        }
        let one = run(threads: 1), two = run(threads: 2)
        for (a, c) in zip(one, two) { assertClose(c, a, accuracy: 1e-4) }
        assertClose(one[0], directConv(x, w, b, stride: (1, 1), padding: (0, 0), dilation: (1, 1)), accuracy: 1e-4)
    }

    /// Same inputs, same gradients, to the bit, however the two threads share the blocks of
    /// the batch (the weight gradient is summed per block, in block order).
    func testWeightGradientIsTheSameOnEveryRun() {
        let previous = Runtime.blasThreads
        Runtime.configure(threads: 2)
        defer { Runtime.configure(threads: previous) }
        var generator = RandomGenerator(seed: 11)
        // 64 images of 6×14×14 through 16 5×5 filters: enough work for two threads and several blocks.
        let x = Tensor.randn([64, 6, 14, 14], using: &generator)
        let w = Tensor.randn([16, 6, 5, 5], using: &generator, requiresGrad: true)
        let b = Tensor.zeros([16], requiresGrad: true)
        var first: [Float]?
        for _ in 0..<20 {
            w.grad = nil
            b.grad = nil
            conv2d(x, weight: w, bias: b).sum().backward()
            let gradient = w.grad!.scalars + b.grad!.scalars
            if let first { XCTAssertEqual(gradient, first) } else { first = gradient }
        }
    }
}
