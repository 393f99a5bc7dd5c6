import Cortex
import Foundation

/// The bookkeeping every game-playing trainer (DQN, PQN) does with its progress: training
/// episodes into the last-100 mean and the curve, evaluations into the evaluation curve and
/// the best return, both logged to the run's CSV and TensorBoard.
extension DQNTrainingState {
    /// Records a finished training episode at the current frame of a run of `runFrames` frames.
    public mutating func recordEpisode(return episodeReturn: Float, length: Int, runFrames: Int, logger: RunLogger) {
        episodes += 1
        recentReturns.append(episodeReturn)
        if recentReturns.count > 100 { recentReturns.removeFirst(recentReturns.count - 100) }
        // One point per 1/500 of the run (at least 1,000 frames apart): evenly spread and bounded.
        let spacing = Float(max(1_000, runFrames / 500))
        if trainCurve.last.map({ Float(frame) - $0[0] >= spacing }) ?? true {
            trainCurve.append([Float(frame), recentReturnMean])
        }
        try? logger.log(
            step: frame,
            [
                ("charts/episodic_return", Double(episodeReturn)),
                ("charts/episodic_length", Double(length)),
                ("charts/return_mean_100", Double(recentReturnMean))
            ])
    }

    /// Records an evaluation at the current frame; returns the line to show and, when it is the
    /// best so far, the path the caller saves the best checkpoint to (the line already names it).
    public mutating func recordEvaluation(
        _ results: DQNEvaluation.Results, maxSteps: Int,
        logger: RunLogger
    ) throws -> (message: String, bestPath: String?) {
        let mean = results.meanReturn
        lastEvalReturn = mean
        evalCurve.append([Float(frame), mean])
        try logger.log(
            step: frame,
            [
                ("eval/return_mean", Double(mean)), ("eval/return_std", Double(results.stdReturn)),
                ("eval/truncated", Double(results.truncatedCount))
            ])
        var message =
            "eval at \(frame) frames: mean return \(String(format: "%.2f", mean)) over \(results.episodes.count) episodes"
        if results.truncatedCount > 0 { message += " (\(results.truncatedCount) truncated at \(maxSteps) steps)" }
        var best = bestEvalReturn.map(Double.init)
        guard TrainingRun.improves(Double(mean), on: &best) else { return (message, nil) }
        bestEvalReturn = mean
        let path = logger.path("best.safetensors")
        return (message + ", new best → \(path)", path)
    }

    /// The figures a finished run reports for TensorBoard's HPARAMS tab.
    public var finalMetrics: [(name: String, value: Double)] {
        [("train_return_mean_100", Double(recentReturnMean)), ("eval_return_mean", Double(lastEvalReturn ?? .nan)),
         ("eval_return_best", Double(bestEvalReturn ?? .nan))]
    }
}

extension DQNSummary {
    /// The summary of a run in `state`; `bestCheckpoint` counts only when the file exists.
    public init(state: DQNTrainingState, framesPerSecond: Double, lastCheckpoint: String, bestCheckpoint: String) {
        self.init(frames: state.frame, episodes: state.episodes, trainReturnMean: state.recentReturnMean,
                  evalReturnMean: state.lastEvalReturn ?? .nan, evalReturnBest: state.bestEvalReturn ?? .nan,
                  framesPerSecond: framesPerSecond, lastCheckpoint: lastCheckpoint,
                  bestCheckpoint: FileManager.default.fileExists(atPath: bestCheckpoint) ? bestCheckpoint : nil)
    }
}
