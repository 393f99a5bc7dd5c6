import Foundation

/// Errors a user can cause when training or loading an agent.
public enum AgentError: Error, CustomStringConvertible, LocalizedError {
    case badCheckpoint(path: String, reason: String)
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .badCheckpoint(let path, let reason): "\(path): not a DQN checkpoint of this kind: \(reason)"
        case .invalidConfig(let reason): reason
        }
    }
    public var errorDescription: String? { description }
}
