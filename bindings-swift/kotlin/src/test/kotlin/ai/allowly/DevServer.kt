// The real `allowly serve --dev` on a temp SQLite file (as tests/e2e/tests/common/mod.rs starts it), stopped by close().
package ai.allowly

import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit

class DevServer private constructor(private val process: Process, private val dir: File, ready: JsonNode) :
    AutoCloseable {
    val baseUrl: String = ready["base_url"].string
    val workspaceId: String = ready["workspace_id"].string
    val runtimeApiKey: String = ready["runtime_api_key"].string
    val setupApiKey: String = ready["setup_api_key"].string

    /** The demo edition the dev server publishes: `{"policy_id", "policy_version"}`. */
    val policy: JsonNode = ready["policy"]

    fun client(apiKey: String = runtimeApiKey): Allowly =
        Allowly(apiKey, ClientOptions(baseUrl = baseUrl, allowInsecureHttp = true))

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        dir.deleteRecursively()
    }

    override fun toString(): String = "DevServer($baseUrl)"

    companion object {
        /** `extraArgs` are more `allowly serve` flags (a scenario's `serve_args`). */
        fun start(extraArgs: List<String> = emptyList()): DevServer {
            val bin = File(System.getProperty("allowly.bin") ?: error("allowly.bin is not set"))
            check(bin.canExecute()) { "$bin is missing: build it with `cargo build -p allowly-cli`" }
            val dir = Files.createTempDirectory("allowly-kotlin").toFile()
            val ready = File(dir, "ready.json")
            val log = File(dir, "server.log")
            val process = ProcessBuilder(
                bin.path, "serve", "--dev", "--db", "sqlite://${File(dir, "test.db").path}",
                "--listen", "127.0.0.1:0", "--ready-file", ready.path, *extraArgs.toTypedArray(),
            ).redirectErrorStream(true).redirectOutput(log).also { it.environment().remove("ALLOWLY_MASTER_KEY") }.start()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
            while (!(ready.exists() && ready.length() > 0)) {
                if (!process.isAlive) error("allowly serve exited with ${process.exitValue()}: ${log.readText()}")
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly()
                    error("no ready file within 60 s: ${log.readText()}")
                }
                Thread.sleep(50)
            }
            return DevServer(process, dir, JsonNode.parse(ready.readText()))
        }
    }
}
