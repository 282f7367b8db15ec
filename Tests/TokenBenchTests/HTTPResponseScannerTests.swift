import NIOCore
import Testing

@testable import tokenbench

/// The HTTP load generator's reading of answers: what counts as one, and when it is complete.
@Suite struct HTTPResponseScannerTests {
    static func feed(_ scanner: inout HTTPResponseScanner, _ text: String) {
        var bytes = ByteBuffer(string: text)
        scanner.append(&bytes)
    }

    @Test func anAnswerSplitAcrossReadsIsCountedOnceItsBodyHasArrived() {
        var scanner = HTTPResponseScanner()
        Self.feed(&scanner, "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer\r\nCONTENT-Length:  12")
        #expect(scanner.next() == nil)
        Self.feed(&scanner, "\r\n\r\nrevoked")
        #expect(scanner.next() == nil)
        Self.feed(&scanner, "\r\nxyzHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\n")
        #expect(scanner.next() == 401)
        #expect(scanner.next() == 200)
        #expect(scanner.next() == nil)
    }

    @Test func answersInOneReadAreCountedInTurn() {
        var scanner = HTTPResponseScanner()
        Self.feed(
            &scanner, "HTTP/1.1 200 OK\r\nx-auth-subject: a\r\n\r\nHTTP/1.1 503 Busy\r\ncontent-length: 3\r\n\r\nno\n")
        #expect(scanner.next() == 200)
        #expect(scanner.next() == 503)
        #expect(scanner.next() == nil)
    }

    @Test func bytesThatAreNoAnswerAreReportedAndDropped() {
        var scanner = HTTPResponseScanner()
        Self.feed(&scanner, "HTTP/1.0 200 OK\r\n\r\n")
        #expect(scanner.next() == -1)
        #expect(scanner.next() == nil)
        Self.feed(&scanner, String(repeating: "x", count: HTTPResponseScanner.maxHeadBytes))
        #expect(scanner.next() == -1)
        Self.feed(&scanner, "HTTP/1.1 2x0 OK\r\n\r\n")
        #expect(scanner.next() == -1)
    }
}
