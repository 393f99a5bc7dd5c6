import Foundation

/// Configs as data: a config struct written over by a JSON object that names only some of its
/// fields. One mechanism serves presets (a table row names the fields a game changes), config
/// files written by earlier versions (fields added since keep their defaults) and replaying a
/// logged `config.json` (`--config`).
public enum ConfigFile {
    /// `base` with the fields of the JSON object `overrides` written over it; nested objects
    /// merge field by field. A value of the wrong type is refused with the field's name.
    public static func merge<Config: Codable>(
        _ base: Config, with overrides: Data, source: String = "config"
    ) throws -> Config {
        guard let baseObject = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as? [String: Any]
        else {
            throw TrainingError("\(source): the config does not encode as a JSON object")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: overrides)
        } catch {
            throw TrainingError("\(source): not valid JSON")
        }
        guard let overrideObject = parsed as? [String: Any] else {
            throw TrainingError("\(source): not a JSON object of settings")
        }
        let merged = try merge(baseObject, overrideObject, source: source, path: "")
        do {
            return try JSONDecoder().decode(Config.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw TrainingError("\(source): '\(field)' has the wrong type or value")
        } catch {
            throw TrainingError("\(source): \(error)")
        }
    }

    /// `base` written over by the JSON object in the file at `path`.
    public static func load<Config: Codable>(_ path: String, over base: Config) throws -> Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError("cannot read the config file \(path)")
        }
        return try merge(base, with: data, source: path)
    }

    private static func merge(
        _ base: [String: Any], _ overrides: [String: Any], source: String,
        path: String
    ) throws -> [String: Any] {
        var result = base
        for (key, value) in overrides {
            let name = path.isEmpty ? key : path + "." + key
            if let nestedBase = base[key] as? [String: Any], let nestedOverride = value as? [String: Any] {
                result[key] = try merge(nestedBase, nestedOverride, source: source, path: name)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
