import Foundation

// Summaries beyond scalars: text, images, histograms and hyperparameters, in the protobuf
// layouts TensorBoard's plugins read (tensorflow/core/framework/summary.proto, tensor.proto,
// tensorboard/plugins/hparams/api.proto and plugin_data.proto).

/// Encoders for `Summary.Value` messages other than `simple_value`.
public enum TensorBoardSummary {
    // Summary.Value { string tag = 1; float simple_value = 2; Image image = 4; HistogramProto histo = 5;
    //                 TensorProto tensor = 8; SummaryMetadata metadata = 9; }
    // SummaryMetadata { PluginData plugin_data = 1; }  PluginData { string plugin_name = 1; bytes content = 2; }

    static func metadata(plugin: String, content: [UInt8] = []) -> [UInt8] {
        var pluginData: [UInt8] = []
        Protobuf.appendBytes(1, Array(plugin.utf8), to: &pluginData)
        if !content.isEmpty { Protobuf.appendBytes(2, content, to: &pluginData) }
        var metadata: [UInt8] = []
        Protobuf.appendBytes(1, pluginData, to: &metadata)
        return metadata
    }

    /// Text (the text plugin; markdown is rendered): a scalar `DT_STRING` tensor.
    public static func text(tag: String, _ text: String) -> [UInt8] {
        // TensorProto { DataType dtype = 1 (DT_STRING = 7); TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
        var tensor: [UInt8] = []
        Protobuf.appendKey(1, wireType: 0, to: &tensor)
        Protobuf.appendVarint(7, to: &tensor)
        Protobuf.appendBytes(2, [], to: &tensor)
        Protobuf.appendBytes(8, Array(text.utf8), to: &tensor)
        var value: [UInt8] = []
        Protobuf.appendBytes(1, Array(tag.utf8), to: &value)
        Protobuf.appendBytes(8, tensor, to: &value)
        Protobuf.appendBytes(9, metadata(plugin: "text"), to: &value)
        return value
    }

    /// An image: `Summary.Image { int32 height = 1; int32 width = 2; int32 colorspace = 3;
    /// bytes encoded_image_string = 4; }`, the pixels as PNG.
    public static func image(tag: String, width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        var image: [UInt8] = []
        Protobuf.appendKey(1, wireType: 0, to: &image)
        Protobuf.appendVarint(UInt64(height), to: &image)
        Protobuf.appendKey(2, wireType: 0, to: &image)
        Protobuf.appendVarint(UInt64(width), to: &image)
        Protobuf.appendKey(3, wireType: 0, to: &image)
        Protobuf.appendVarint(UInt64(channels), to: &image)
        Protobuf.appendBytes(
            4, StoredPNG.encode(width: width, height: height, channels: channels, pixels: pixels), to: &image)
        var value: [UInt8] = []
        Protobuf.appendBytes(1, Array(tag.utf8), to: &value)
        Protobuf.appendBytes(4, image, to: &value)
        return value
    }

    /// A histogram of `values` in `bucketCount` equal buckets between their minimum and maximum:
    /// `HistogramProto { double min = 1; double max = 2; double num = 3; double sum = 4;
    /// double sum_squares = 5; repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }`,
    /// each bucket_limit the right edge of its bucket.
    public static func histogram(tag: String, values: UnsafeBufferPointer<Float>, bucketCount: Int = 30) -> [UInt8] {
        var low = Double.infinity, high = -Double.infinity, sum = 0.0, squares = 0.0, finite = 0
        for v in values where v.isFinite {
            let x = Double(v)
            low = min(low, x)
            high = max(high, x)
            sum += x
            squares += x * x
            finite += 1
        }
        if finite == 0 {
            low = 0
            high = 0
        }
        let buckets = max(1, bucketCount)
        let width = (high - low) / Double(buckets)
        var counts = [Double](repeating: 0, count: buckets)
        for v in values where v.isFinite {
            let index = width > 0 ? min(buckets - 1, Int((Double(v) - low) / width)) : 0
            counts[index] += 1
        }
        let limits = (0..<buckets).map { $0 == buckets - 1 ? high : low + width * Double($0 + 1) }
        var histogram: [UInt8] = []
        for (field, number) in [(1, low), (2, high), (3, Double(finite)), (4, sum), (5, squares)] {
            Protobuf.appendKey(field, wireType: 1, to: &histogram)
            Protobuf.appendFixed64(number.bitPattern, to: &histogram)
        }
        for (field, list) in [(6, limits), (7, counts)] {
            var packed: [UInt8] = []
            for number in list { Protobuf.appendFixed64(number.bitPattern, to: &packed) }
            Protobuf.appendBytes(field, packed, to: &histogram)
        }
        var value: [UInt8] = []
        Protobuf.appendBytes(1, Array(tag.utf8), to: &value)
        Protobuf.appendBytes(5, histogram, to: &value)
        return value
    }

    /// A hyperparameter's value in the hparams plugin (`google.protobuf.Value`).
    public enum HParam: Equatable {
        case number(Double)
        case string(String)
        case bool(Bool)

        var encoded: [UInt8] {
            var out: [UInt8] = []
            switch self {
            case .number(let x):
                Protobuf.appendKey(2, wireType: 1, to: &out)
                Protobuf.appendFixed64(x.bitPattern, to: &out)
            case .string(let s):
                Protobuf.appendBytes(3, Array(s.utf8), to: &out)
            case .bool(let b):
                Protobuf.appendKey(4, wireType: 0, to: &out)
                Protobuf.appendVarint(b ? 1 : 0, to: &out)
            }
            return out
        }

        /// The hyperparameters of a config: its JSON fields, nested ones joined with dots.
        public static func flatten(json object: [String: Any], prefix: String = "") -> [String: HParam] {
            var result: [String: HParam] = [:]
            for (key, value) in object {
                let name = prefix.isEmpty ? key : prefix + "." + key
                switch value {
                case let nested as [String: Any]: result.merge(flatten(json: nested, prefix: name)) { $1 }
                case let flag as Bool
                where !(value is NSNumber) || String(cString: (value as! NSNumber).objCType) == "c":
                    result[name] = .bool(flag)
                case let number as NSNumber: result[name] = .number(number.doubleValue)
                case let text as String: result[name] = .string(text)
                default: result[name] = .string("\(value)")
                }
            }
            return result
        }
    }

    /// The three summaries PyTorch's `SummaryWriter.add_hparams` writes, so TensorBoard's
    /// HPARAMS tab lists the run with its settings and final metrics: the experiment (which
    /// hyperparameters and metrics exist), the session's start (the values) and its end.
    /// HParamsPluginData { int32 version = 1; Experiment experiment = 2; SessionStartInfo
    /// session_start_info = 3; SessionEndInfo session_end_info = 4; }
    public static func hyperparameters(_ hparams: [String: HParam], metricTags: [String]) -> [[UInt8]] {
        func plugin(_ field: Int, _ message: [UInt8]) -> [UInt8] {
            var data: [UInt8] = []
            Protobuf.appendKey(1, wireType: 0, to: &data)
            Protobuf.appendVarint(0, to: &data)
            Protobuf.appendBytes(field, message, to: &data)
            return data
        }
        func value(_ tag: String, _ content: [UInt8]) -> [UInt8] {
            var value: [UInt8] = []
            Protobuf.appendBytes(1, Array(tag.utf8), to: &value)
            Protobuf.appendBytes(9, metadata(plugin: "hparams", content: content), to: &value)
            return value
        }
        let names = hparams.keys.sorted()
        // Experiment { repeated HParamInfo hparam_infos = 4; repeated MetricInfo metric_infos = 5; }
        // HParamInfo { string name = 1; DataType type = 4 (STRING 1, BOOL 2, FLOAT64 3); }
        // MetricInfo { MetricName name = 1; }  MetricName { string group = 1; string tag = 2; }
        var experiment: [UInt8] = []
        for name in names {
            var info: [UInt8] = []
            Protobuf.appendBytes(1, Array(name.utf8), to: &info)
            Protobuf.appendKey(4, wireType: 0, to: &info)
            switch hparams[name]! {
            case .string: Protobuf.appendVarint(1, to: &info)
            case .bool: Protobuf.appendVarint(2, to: &info)
            case .number: Protobuf.appendVarint(3, to: &info)
            }
            Protobuf.appendBytes(4, info, to: &experiment)
        }
        for tag in metricTags {
            var metricName: [UInt8] = []
            Protobuf.appendBytes(2, Array(tag.utf8), to: &metricName)
            var info: [UInt8] = []
            Protobuf.appendBytes(1, metricName, to: &info)
            Protobuf.appendBytes(5, info, to: &experiment)
        }
        // SessionStartInfo { map<string, google.protobuf.Value> hparams = 1; }
        var start: [UInt8] = []
        for name in names {
            var entry: [UInt8] = []
            Protobuf.appendBytes(1, Array(name.utf8), to: &entry)
            Protobuf.appendBytes(2, hparams[name]!.encoded, to: &entry)
            Protobuf.appendBytes(1, entry, to: &start)
        }
        // SessionEndInfo { Status status = 1; }  STATUS_SUCCESS = 1
        var end: [UInt8] = []
        Protobuf.appendKey(1, wireType: 0, to: &end)
        Protobuf.appendVarint(1, to: &end)
        return [
            value("_hparams_/experiment", plugin(2, experiment)),
            value("_hparams_/session_start_info", plugin(3, start)),
            value("_hparams_/session_end_info", plugin(4, end))
        ]
    }
}

/// PNG written without compression (zlib "stored" blocks), enough for TensorBoard images:
/// signature, IHDR, one IDAT, IEND, each chunk with its CRC-32; the zlib stream with its
/// Adler-32. Grey (1 channel), RGB (3) or RGBA (4), 8 bits.
public enum StoredPNG {
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(
            [1, 3, 4].contains(channels) && pixels.count == width * height * channels,
            "StoredPNG: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * channels + 1))
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw += pixels[(row * width * channels)..<((row + 1) * width * channels)]
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, raw.count - offset)
            let last = offset + length == raw.count
            zlib.append(last ? 1 : 0)
            zlib += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + length)]
            offset += length
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        zlib += bigEndian((b << 16) | a)
        let colorType: UInt8 = channels == 1 ? 0 : (channels == 3 ? 2 : 6)
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, colorType, 0, 0, 0])
        png += chunk("IDAT", zlib)
        png += chunk("IEND", [])
        return png
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    /// CRC-32 (ISO-HDLC, reflected 0xEDB88320), PNG's chunk checksum.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
