import CortexTestSupport
import Data
import Foundation
import XCTest

/// Small and degenerate sizes through the real `cortex`: the smallest sizes that make sense
/// train (status 0); zero, negative, non-dividing or absurd ones, from flags or a config file,
/// end with exactly one line on stderr and status 64 (a flag, EX_USAGE) or 1 (anything else),
/// never a signal, "Fatal error" or stack dump.
final class DegenerateSizeTests: TemporaryFolderTestCase {
    /// Runs every case; `expected` is the status, `says` a piece of the one stderr line.
    private func check(_ cases: [(arguments: [String], expected: Int32, says: String)]) throws {
        for (arguments, expected, says) in cases {
            let name = "cortex " + arguments.joined(separator: " ")
            let result = try runCortexReporting(arguments)
            XCTAssertFalse(result.signalled, "\(name) crashed:\n\(result.stderr.prefix(600))")
            XCTAssertEqual(result.status, expected, "\(name):\n\(result.stderr.suffix(600))")
            for bad in ["Fatal error", "Stack dump", "Program crashed"] {
                XCTAssertFalse(result.stderr.contains(bad), "\(name):\n\(result.stderr.prefix(600))")
            }
            guard expected != 0 else { continue }
            let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("\r") }
            XCTAssertEqual(lines.count, 1, "\(name):\n\(result.stderr.suffix(600))")
            XCTAssertTrue(lines.first?.hasPrefix("cortex ") ?? false, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(says), "\(name): '\(says)' not in \(result.stderr)")
        }
        print("degenerate sizes: \(cases.count) cases")
    }

    func testTextSizes() throws {
        let corpus = folder + "/corpus.txt"
        try String(repeating: "To be, or not to be: that is the question. ", count: 40).write(
            toFile: corpus, atomically: true, encoding: .utf8)
        let dropout = folder + "/dropout.json", beta2 = folder + "/beta2.json"
        try #"{"gpt": {"dropout": 2}}"#.write(toFile: dropout, atomically: true, encoding: .utf8)
        try #"{"beta2": 1.5}"#.write(toFile: beta2, atomically: true, encoding: .utf8)
        let text = ["train", "text", "--data", corpus, "--iters", "2", "--eval-every", "2", "--eval-batches", "1"]
        try check([
            (
                text + [
                    "--layers", "1", "--embed", "16", "--heads", "2", "--block", "16", "--batch", "4", "--out",
                    folder + "/gpt"
                ], 0, ""
            ),
            (
                text + [
                    "--model", "lstm", "--layers", "1", "--embed", "8", "--hidden", "8", "--block", "1", "--batch",
                    "1", "--out", folder + "/lstm"
                ], 0, ""
            ),
            (["generate", "--checkpoint", folder + "/gpt/last.safetensors", "--length", "0"], 0, ""),
            (text + ["--heads", "3", "--embed", "128"], 64, "divisible by the 3 heads"),
            (text + ["--embed", "0"], 64, "at least 1"),
            (text + ["--heads", "0"], 64, "at least 1"),
            (text + ["--layers", "0"], 64, "at least 1"),
            (text + ["--block", "0"], 64, "block size"),
            (text + ["--batch", "0"], 64, "batch size"),
            (text + ["--iters", "0"], 64, "iterations"),
            (text + ["--model", "lstm", "--hidden", "0"], 64, "hidden size"),
            (text + ["--block", "1000", "--out", folder + "/long"], 1, "too short for blocks of 1000"),
            (text + ["--block", "100000"], 64, "block 100000"),
            (text + ["--iters", "abc"], 64, "'abc' is invalid"),
            (["generate", "--checkpoint", folder + "/gpt/last.safetensors", "--prompt", ""], 1, "the prompt is empty"),
            // Only a config file reaches these (dropout once trapped in the Dropout layer).
            (text + ["--config", dropout], 64, "dropout 2.0 outside [0, 1)"),
            (text + ["--config", beta2], 64, "beta2 must be in [0, 1)"),
            (["eval", "text", "--checkpoint", folder + "/gpt/last.safetensors", "--batch", "0"], 64, "--batch")
        ])
    }

    func testGameAndGoSizes() throws {
        let config = folder + "/go.json"
        let breakout = ["train", "breakout", "--frames", "16", "--eval-every", "0"]
        let go = ["train", "go", "--size", "5", "--moves", "30", "--eval-every", "0"]
        var cases: [(arguments: [String], expected: Int32, says: String)] = [
            (
                breakout + ["--envs", "1", "--rollout-steps", "1", "--minibatches", "1", "--out", folder + "/pqn"],
                0, ""
            ),
            (
                go + [
                    "--batch", "8", "--replay", "9", "--learning-starts", "10", "--layers", "1", "--channels", "1",
                    "--out", folder + "/go"
                ], 0, ""
            ),
            (["match", "--black", "random", "--white", "random", "--games", "1", "--size", "2"], 0, ""),
            (breakout + ["--envs", "0"], 64, "envs"),
            (breakout + ["--rollout-steps", "0"], 64, "rollout steps"),
            (breakout + ["--envs", "8", "--rollout-steps", "8", "--minibatches", "100"], 64, "must divide"),
            (breakout + ["--algo", "dqn", "--batch", "0"], 64, "--batch"),
            (breakout + ["--algo", "dqn", "--batch", "8", "--replay", "8"], 64, "--replay larger than --batch"),
            (go + ["--size", "4"], 64, "--size must be in 5...25"),
            (go + ["--size", "1000"], 64, "--size must be in 5...25"),
            (go + ["--channels", "0"], 64, "--channels"),
            (go + ["--channels", "100000000"], 64, "--channels at most 4096"),
            (go + ["--config", config], 64, "historyLength must be in 0...16"),
            (["gtp", "--size", "0"], 64, "--size must be in 2...25"),
            (["gtp", "--size", "1000"], 64, "--size must be in 2...25"),
            (["gtp", "--mcts", "--playouts", "0"], 64, "--playouts"),
            (["match", "--black", "random", "--white", "random", "--size", "1"], 64, "--size"),
            (["match", "--black", "random", "--white", "random", "--games", "0"], 64, "--games"),
            (["match", "--black", "cortex-mcts:seconds=-1", "--white", "random", "--size", "5"], 1, "seconds=-1"),
            (["bench", "go", "--size", "1"], 64, "--size"),
            (
                ["eval", "breakout", "--checkpoint", folder + "/pqn/last.safetensors", "--episodes", "0"], 64,
                "--episodes"
            ),
            (["eval", "go", "--checkpoint", folder + "/go/last.safetensors", "--episodes", "0"], 64, "--episodes"),
            (["watch", "breakout", "--record", folder + "/x.gif", "--zoom", "0"], 64, "--zoom"),
            (["watch", "breakout", "--record", folder + "/x.gif", "--episodes", "0"], 64, "--episodes")
        ]
        // Only a config file reaches the history length (it once trapped in GoBoard).
        try #"{"historyLength": -1}"#.write(toFile: config, atomically: true, encoding: .utf8)
        cases.append((["train", "bogus"], 64, "bogus"))
        try check(cases)
    }

    func testVisionSizes() throws {
        guard FashionMNIST.isInstalled else {
            throw missingPrerequisite("Fashion-MNIST is not installed (scripts/setup installs dataset-fashion-mnist)")
        }
        let vit = ["train", "vit", "--epochs", "1", "--limit", "8", "--batch", "8"]
        try check([
            (
                ["train", "lenet", "--epochs", "1", "--limit", "1", "--batch", "64", "--out", folder + "/lenet"],
                0, ""
            ),
            (
                vit + [
                    "--dim", "8", "--depth", "1", "--heads", "1", "--mlp", "8", "--patch", "28", "--out",
                    folder + "/vit"
                ], 0, ""
            ),
            (vit + ["--heads", "3", "--dim", "32"], 1, "3 heads do not divide dimension 32"),
            (vit + ["--patch", "5"], 1, "patch size 5 does not divide image size 28"),
            (vit + ["--patch", "0"], 1, "sizes must be positive"),
            (vit + ["--dim", "0"], 1, "sizes must be positive"),
            (vit + ["--depth", "0"], 1, "sizes must be positive"),
            (vit + ["--dropout", "2"], 1, "dropout 2.0"),
            (vit + ["--batch", "0"], 64, "batch size"),
            (["train", "lenet", "--epochs", "0"], 64, "epochs"),
            (["train", "lenet", "--limit", "0"], 64, "limit"),
            (
                [
                    "eval", "lenet", "--checkpoint", folder + "/lenet/last.safetensors", "--picture-count", "0",
                    "--grid",
                    folder + "/g.png"
                ], 64, "--picture-count"
            ),
            (["eval", "vit", "--checkpoint", folder + "/lenet/last.safetensors"], 1, "holds a lenet model, not vit"),
            (["classify", "--checkpoint", folder + "/lenet/last.safetensors", folder + "/none.png"], 1, "none.png")
        ])
    }
}
