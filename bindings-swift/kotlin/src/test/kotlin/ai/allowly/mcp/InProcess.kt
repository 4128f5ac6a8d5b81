// In-process transports between the Java MCP SDK's real server and real client, for both eras. Every message goes
// through JSON text (the SDK's own mapper and deserializers), so what the gate answers is checked as wire JSON, and the
// server sees a transport context with the principal an authenticating transport would have put there.
package ai.allowly.mcp

import io.modelcontextprotocol.common.McpTransportContext
import io.modelcontextprotocol.json.McpJsonDefaults
import io.modelcontextprotocol.json.TypeRef
import io.modelcontextprotocol.modern.JsonRpc
import io.modelcontextprotocol.modern.client.transport.McpClientTransport as ModernClientTransport
import io.modelcontextprotocol.modern.server.McpServer as ModernServer
import io.modelcontextprotocol.modern.server.McpTransportResponse
import io.modelcontextprotocol.spec.McpClientTransport
import io.modelcontextprotocol.spec.McpSchema
import io.modelcontextprotocol.spec.McpServerSession
import io.modelcontextprotocol.spec.McpServerTransport
import io.modelcontextprotocol.spec.McpServerTransportProvider
import reactor.core.publisher.Flux
import reactor.core.publisher.Mono
import reactor.core.scheduler.Schedulers
import java.util.function.Function

private val mapper = McpJsonDefaults.getMapper()

/** The transport context an authenticating transport would attach: `principal` = the authenticated user, if any. */
fun transportContext(principal: String?): McpTransportContext =
    McpTransportContext.create(if (principal == null) emptyMap() else mapOf("principal" to principal))

/** The host's identity lookup of these tests: the transport's authenticated principal. */
val principalOfTransport: IdentityLookup = { context -> context.get("principal") as String? }

/** One 2025-11-25 session: the server's provider and the client's transport, joined in process. */
class LegacyPipe(private val principal: String?) : McpServerTransportProvider {
    private lateinit var factory: McpServerSession.Factory
    private lateinit var session: McpServerSession
    private var toClient: Function<Mono<McpSchema.JSONRPCMessage>, Mono<McpSchema.JSONRPCMessage>>? = null

    override fun setSessionFactory(sessionFactory: McpServerSession.Factory) {
        factory = sessionFactory
    }

    override fun notifyClients(method: String, params: Any?): Mono<Void> = Mono.empty()

    override fun closeGracefully(): Mono<Void> = Mono.empty()

    private fun wire(message: McpSchema.JSONRPCMessage): McpSchema.JSONRPCMessage =
        McpSchema.deserializeJsonRpcMessage(mapper, mapper.writeValueAsString(message))

    private fun toServer(message: McpSchema.JSONRPCMessage): Mono<Void> =
        session.handle(wire(message)).contextWrite { it.put(McpTransportContext.KEY, transportContext(principal)) }

    private val serverSide = object : McpServerTransport {
        // The client session answers a server request by its own sendMessage; what the handler returns is only the
        // inbound message passed through (as in the SDK's stdio transport), so it is not sent anywhere.
        override fun sendMessage(message: McpSchema.JSONRPCMessage): Mono<Void> = Mono.fromRunnable {
            toClient?.apply(Mono.just(wire(message)))?.subscribeOn(Schedulers.boundedElastic())?.subscribe()
        }

        override fun <T : Any?> unmarshalFrom(data: Any?, typeRef: TypeRef<T>): T = mapper.convertValue(data, typeRef)

        override fun closeGracefully(): Mono<Void> = Mono.empty()
    }

    /** The client's end. */
    val client: McpClientTransport = object : McpClientTransport {
        override fun connect(
            handler: Function<Mono<McpSchema.JSONRPCMessage>, Mono<McpSchema.JSONRPCMessage>>,
        ): Mono<Void> {
            toClient = handler
            session = factory.create(serverSide)
            return Mono.empty()
        }

        override fun sendMessage(message: McpSchema.JSONRPCMessage): Mono<Void> = Mono.fromRunnable {
            toServer(message).subscribeOn(Schedulers.boundedElastic()).subscribe()
        }

        override fun <T : Any?> unmarshalFrom(data: Any?, typeRef: TypeRef<T>): T = mapper.convertValue(data, typeRef)

        override fun closeGracefully(): Mono<Void> = Mono.empty()
    }
}

/** A 2026-07-28 client transport straight into a modern server's request handler. */
fun modernPipe(server: ModernServer, principal: String?): ModernClientTransport = ModernClientTransport { request ->
    val message = JsonRpc.deserializeMessage(mapper, mapper.writeValueAsString(request.message())) as JsonRpc.JSONRPCRequest
    server.handle(transportContext(principal), message).flatMapMany { response ->
        when (response) {
            is McpTransportResponse.Result -> Flux.just(response.response())
            is McpTransportResponse.Error -> Flux.just(response.response())
            is McpTransportResponse.Streaming -> response.messages()
            else -> Flux.error(IllegalStateException("unknown transport response $response"))
        }.map { JsonRpc.deserializeMessage(mapper, mapper.writeValueAsString(it)) }
    }
}
