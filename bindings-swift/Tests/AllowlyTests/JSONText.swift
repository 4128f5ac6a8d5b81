// A minimal JSON reader that keeps every value's exact source text, so conformance receipts reach the verifier byte
// for byte (JSONSerialization would reject or rewrite escapes such as lone surrogates). Mirrors the Kotlin tests' one.
import Foundation

final class JSONNode {
    let raw: String
    let object: [String: JSONNode]?
    let array: [JSONNode]?
    let string: String?

    init(raw: String, object: [String: JSONNode]? = nil, array: [JSONNode]? = nil, string: String? = nil) {
        self.raw = raw
        self.object = object
        self.array = array
        self.string = string
    }

    subscript(key: String) -> JSONNode { object![key]! }

    static func parse(_ text: String) -> JSONNode {
        var reader = Reader(chars: Array(text.utf16))
        return reader.value()
    }

    private struct Reader {
        let chars: [UInt16]
        var pos = 0

        mutating func ws() {
            while pos < chars.count, [0x20, 0x09, 0x0A, 0x0D].contains(chars[pos]) { pos += 1 }
        }

        func text(_ start: Int, _ end: Int) -> String {
            String(utf16CodeUnits: Array(chars[start..<end]), count: end - start)
        }

        mutating func value() -> JSONNode {
            ws()
            let start = pos
            switch chars[pos] {
            case 0x7B:  // {
                pos += 1
                var members: [String: JSONNode] = [:]
                ws()
                if chars[pos] == 0x7D { pos += 1 } else {
                    while true {
                        ws()
                        let key = str()
                        ws()
                        pos += 1  // :
                        members[key] = value()
                        ws()
                        pos += 1
                        if chars[pos - 1] == 0x7D { break }
                    }
                }
                return JSONNode(raw: text(start, pos), object: members)
            case 0x5B:  // [
                pos += 1
                var items: [JSONNode] = []
                ws()
                if chars[pos] == 0x5D { pos += 1 } else {
                    while true {
                        items.append(value())
                        ws()
                        pos += 1
                        if chars[pos - 1] == 0x5D { break }
                    }
                }
                return JSONNode(raw: text(start, pos), array: items)
            case 0x22:
                let s = str()
                return JSONNode(raw: text(start, pos), string: s)
            default:
                while pos < chars.count, !(chars[pos] == 0x2C || chars[pos] == 0x7D || chars[pos] == 0x5D
                    || [0x20, 0x09, 0x0A, 0x0D].contains(chars[pos]))
                {
                    pos += 1
                }
                return JSONNode(raw: text(start, pos))
            }
        }

        mutating func str() -> String {
            pos += 1
            var out: [UInt16] = []
            while true {
                let c = chars[pos]
                pos += 1
                if c == 0x22 { return String(utf16CodeUnits: out, count: out.count) }
                if c != 0x5C { out.append(c); continue }
                let e = chars[pos]
                pos += 1
                switch e {
                case 0x75: out.append(UInt16(text(pos, pos + 4), radix: 16)!); pos += 4
                case 0x6E: out.append(0x0A)
                case 0x74: out.append(0x09)
                case 0x72: out.append(0x0D)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                default: out.append(e)
                }
            }
        }
    }
}
