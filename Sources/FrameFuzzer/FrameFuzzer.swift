import NIOCore
import NIOEmbedded
import TokenWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Fuzzes the frame decoder, the envelope parsers and the parsers of nested messages.
///
/// Built normally, it runs each file named on the command line as one input (to replay a crash or
/// a corpus). Built with `-DFUZZING` and `-sanitize=fuzzer`, libFuzzer drives `runInput`.
enum FrameFuzzer {
    /// Runs one input through the frame decoder and the message parsers, split into two reads at a
    /// point chosen by the input's first byte. Every outcome but a crash or an unexpected error type
    /// is fine: decoded frames, `TokenWireError` from parsing, or a rejected length prefix.
    static func runInput(_ bytes: UnsafeRawBufferPointer) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameLength: 4_096)))
        } catch {
            preconditionFailure("cannot set up the channel: \(error)")
        }
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        for chunk in [bytes[0..<split], bytes[split...]] where !chunk.isEmpty {
            do {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
            } catch let error as TokenWireError where error.isFrameTooLarge {
                return
            } catch {
                preconditionFailure("unexpected decoder error: \(error)")
            }
            while let frame = try? channel.readInbound(as: ByteBuffer.self) {
                if let request = try? RpcRequest(serializedBytes: frame) {
                    // Whatever parsed must serialize and parse back to the same value.
                    precondition((try? RpcRequest(serializedBytes: request.serializedBytes())) == request)
                }
                _ = try? RpcResponse(serializedBytes: frame)
                // Messages with nested messages, repeated ones and maps: the NUL walk recurses into them.
                _ = try? IssueRequest(serializedBytes: frame)
                _ = try? ValidateResponse(serializedBytes: frame)
                _ = try? GetKeysResponse(serializedBytes: frame)
                _ = try? ListSessionsResponse(serializedBytes: frame)
            }
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func frameFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FrameFuzzer.runInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// libFuzzer's driver (declared here because libFuzzer ships no module map; pointer and integer
/// arguments have the same ABI in both calling conventions).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`; hand control to libFuzzer.
@_cdecl("FrameFuzzer_main")
public func frameFuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        frameFuzzerTestOneInput(data, size)
    }
}
#else
@main
extension FrameFuzzer {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            print("usage: FrameFuzzer FILE... (runs each file as one input)")
        }
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("cannot read \(path)")
                exit(1)
            }
            data.withUnsafeBytes { runInput($0) }
            print("ok \(path)")
        }
    }
}
#endif
