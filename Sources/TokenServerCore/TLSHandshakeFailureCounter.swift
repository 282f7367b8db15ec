import Metrics
import NIOCore
import NIOSSL

/// Counts the TLS handshakes that fail (a client speaking plain TCP, an untrusted or missing client
/// certificate), right behind the TLS handler, before the connection closes.
final class TLSHandshakeFailureCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let counter: Counter

    init(counter: Counter) {
        self.counter = counter
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .handshakeFailed = error as? NIOSSLError {
            counter.increment()
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSHandshakeFailureCounter: Sendable {}
