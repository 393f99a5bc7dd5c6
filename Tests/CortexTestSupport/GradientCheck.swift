import Cortex
import XCTest

/// The worst relative error between autodiff's gradient and central finite differences,
/// one entry per input that requires grad (`.infinity` where autodiff gave none).
///
/// The output is projected on a fixed random direction `R` (so every output element
/// matters): autodiff runs `output.backward(gradient: R)`, and the numeric gradient of
/// input element `x` is `(⟨R, f(x + h)⟩ − ⟨R, f(x − h)⟩) / 2h`, the inner products summed in
/// Double. Inputs are perturbed in place and restored. The error of one element is
/// `|analytic − numeric| / max(1, |analytic|, |numeric|)`.
public func gradientErrors(
    _ inputs: [Tensor], step: Float = 1e-2, seed: UInt64 = 7,
    _ function: ([Tensor]) -> Tensor
) -> [(error: Float, detail: String)] {
    for input in inputs { input.grad = nil }
    let output = function(inputs)
    var generator = RandomGenerator(seed: seed)
    let projection = Tensor.uniform(output.shape, low: -1, high: 1, using: &generator)
    guard output.requiresGrad else {
        return [(.infinity, "output (op \(output.opName)) does not require grad")]
    }
    output.backward(gradient: projection)

    func projected() -> Double {
        let value = withNoGrad { function(inputs) }
        precondition(value.shape == projection.shape)
        var total = 0.0
        for i in 0..<value.count { total += Double(value.storage.pointer[i]) * Double(projection.storage.pointer[i]) }
        return total
    }

    var results: [(error: Float, detail: String)] = []
    for (index, input) in inputs.enumerated() where input.requiresGrad {
        guard let analytic = input.grad, analytic.shape == input.shape else {
            results.append((.infinity, "input \(index) (shape \(input.shape)) got no gradient of its shape"))
            continue
        }
        var worst: (error: Float, element: Int, analytic: Float, numeric: Float) = (0, -1, 0, 0)
        for element in 0..<input.count {
            let original = input.storage.pointer[element]
            input.storage.pointer[element] = original + step
            let plus = projected()
            input.storage.pointer[element] = original - step
            let minus = projected()
            input.storage.pointer[element] = original
            let numeric = Float((plus - minus) / (2 * Double(step)))
            let exact = analytic.storage.pointer[element]
            let error = abs(exact - numeric) / max(1, abs(exact), abs(numeric))
            if !(error <= worst.error) { worst = (error, element, exact, numeric) }
        }
        results.append(
            (
                worst.error,
                "input \(index) shape \(input.shape): element \(worst.element) analytic \(worst.analytic) vs numeric \(worst.numeric)"
            ))
    }
    return results
}

/// Asserts that autodiff's gradients of `function` match central finite differences
/// (see `gradientErrors`) within `tolerance` for every input that requires grad.
public func checkGradients(
    _ inputs: [Tensor], step: Float = 1e-2, tolerance: Float = 1e-2, seed: UInt64 = 7,
    file: StaticString = #filePath, line: UInt = #line,
    _ function: ([Tensor]) -> Tensor
) {
    let results = gradientErrors(inputs, step: step, seed: seed, function)
    XCTAssertFalse(results.isEmpty, "checkGradients: no input requires grad", file: file, line: line)
    for result in results {
        XCTAssertLessThanOrEqual(result.error, tolerance, result.detail, file: file, line: line)
    }
}

/// Asserts two float arrays agree elementwise within `accuracy`.
public func assertClose(
    _ actual: [Float], _ expected: [Float], accuracy: Float = 1e-5, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "count differs \(message)", file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= accuracy * max(1, abs(e))) {
        XCTFail("element \(i): \(a) vs expected \(e) \(message)", file: file, line: line)
        return
    }
}

/// Asserts a tensor's shape and values.
public func assertTensor(
    _ tensor: Tensor, shape: [Int], _ expected: [Float], accuracy: Float = 1e-5,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(tensor.shape, shape, "shape", file: file, line: line)
    assertClose(tensor.scalars, expected, accuracy: accuracy, file: file, line: line)
}
