// A minimal JSON reader for the tests that keeps every value's exact source text, so conformance receipts reach the
// verifier byte for byte (re-serializing would lose escapes such as lone surrogates). Test-only; no dependency.
package ai.allowly

class JsonNode(val raw: String, val value: Any?) {
    operator fun get(key: String): JsonNode =
        @Suppress("UNCHECKED_CAST") (value as Map<String, JsonNode>)[key] ?: error("no member `$key`")

    fun has(key: String): Boolean = (value as? Map<*, *>)?.containsKey(key) == true

    @Suppress("UNCHECKED_CAST")
    val list: List<JsonNode> get() = value as List<JsonNode>
    val string: String get() = value as String

    companion object {
        fun parse(text: String): JsonNode = Reader(text).run { val n = value(); ws(); check(pos == text.length); n }
    }

    private class Reader(val s: String) {
        var pos = 0

        fun ws() {
            while (pos < s.length && s[pos] in " \t\r\n") pos++
        }

        fun value(): JsonNode {
            ws()
            val start = pos
            val v: Any? = when (s[pos]) {
                '{' -> {
                    pos++
                    val map = LinkedHashMap<String, JsonNode>()
                    ws()
                    if (s[pos] == '}') pos++ else while (true) {
                        ws()
                        val key = string()
                        ws(); check(s[pos++] == ':')
                        map[key] = value()
                        ws()
                        if (s[pos++] == '}') break
                    }
                    map
                }
                '[' -> {
                    pos++
                    val list = ArrayList<JsonNode>()
                    ws()
                    if (s[pos] == ']') pos++ else while (true) {
                        list.add(value())
                        ws()
                        if (s[pos++] == ']') break
                    }
                    list
                }
                '"' -> string()
                't' -> { pos += 4; true }
                'f' -> { pos += 5; false }
                'n' -> { pos += 4; null }
                else -> {
                    while (pos < s.length && s[pos] in "+-0123456789.eE") pos++
                    s.substring(start, pos)
                }
            }
            return JsonNode(s.substring(start, pos), v)
        }

        fun string(): String {
            check(s[pos++] == '"')
            val out = StringBuilder()
            while (true) {
                when (val c = s[pos++]) {
                    '"' -> return out.toString()
                    '\\' -> when (val e = s[pos++]) {
                        'u' -> { out.append(s.substring(pos, pos + 4).toInt(16).toChar()); pos += 4 }
                        'n' -> out.append('\n')
                        't' -> out.append('\t')
                        'r' -> out.append('\r')
                        'b' -> out.append('\b')
                        'f' -> out.append('\u000c')
                        else -> out.append(e)
                    }
                    else -> out.append(c)
                }
            }
        }
    }
}
