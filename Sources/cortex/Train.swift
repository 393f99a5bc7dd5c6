import ArgumentParser

/// `cortex train <job>`: one subcommand per kind of model.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model: a DQN agent on a game, a text model, an image classifier.",
        subcommands: [
            TrainBreakout.self, TrainSpaceInvaders.self, TrainFreeway.self, TrainAsterix.self, TrainSeaquest.self,
            TrainGo.self, TrainGoImitation.self, TrainGoSelfPlay.self, TrainText.self, TrainViT.self, TrainLeNet.self,
            TrainResNet.self, TrainGAN.self, TrainSegmenter.self, TrainDetector.self, TrainCaptioner.self
        ])
}
