import Foundation

/// Runs `scripts/reference/bleu.py` (sacrebleu's corpus BLEU-1…4) on `hypotheses` and
/// `references` with the `python3` on PATH (CI puts `.venv-interop` first); skips when
/// sacrebleu is missing. Returns `bleu1`…`bleu4` on sacrebleu's 0–100 scale.
public func sacrebleuReference(hypotheses: [String], references: [[String]]) throws -> [String: Double] {
    let file = NSTemporaryDirectory() + "cortex-bleu-\(getpid())-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let data = try JSONSerialization.data(withJSONObject: ["hypotheses": hypotheses, "references": references])
    try data.write(to: URL(fileURLWithPath: file))
    let output = try runPython(interpreter: ["/usr/bin/env", "python3"], script: "scripts/reference/bleu.py", [file])
    guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Double] else {
        throw PythonInteropFailure(arguments: ["scripts/reference/bleu.py"], message: "unexpected output: \(output)")
    }
    return object
}
