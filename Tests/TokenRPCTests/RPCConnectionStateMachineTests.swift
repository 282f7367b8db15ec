import NIOCore
import Testing

@testable import TokenRPC

/// The connection's bookkeeping without a socket: limits, counting, deadlines, cancel and drain.
@Suite struct RPCConnectionStateMachineTests {
    private static func machine(
        maxCalls: Int = 256,
        maxBufferedOutputBytes: Int = 1 << 20
    ) -> RPCConnectionStateMachine {
        RPCConnectionStateMachine(limits: .init(maxCalls: maxCalls, maxBufferedOutputBytes: maxBufferedOutputBytes))
    }

    /// A frame whose buffer holds `bytes` of storage.
    private static func frame(_ bytes: Int = 1_024) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes)
        buffer.writeRepeatingByte(0x2A, count: 16)
        return buffer
    }

    private static func at(_ milliseconds: Int64) -> NIODeadline {
        .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
    }

    private static func start(
        _ machine: inout RPCConnectionStateMachine,
        _ callID: UInt64,
        stream: Bool = false,
        deadline: NIODeadline? = nil
    ) -> (serial: UInt64, armTimer: NIODeadline?) {
        #expect(machine.admit(callID: callID) == .admit)
        return machine.start(
            callID: callID,
            method: "/test.Test/Call",
            caller: nil,
            isStream: stream,
            start: .now,
            deadline: deadline
        )
    }

    @Test func everyMethodCountsAgainstTheLimitUntilItsAnswerIsTaken() {
        var machine = Self.machine(maxCalls: 3)
        // A synchronous call answered at once still counts while its answer waits to be written.
        #expect(machine.admit(callID: 1) == .admit)
        machine.queue(Self.frame(), isAnswer: true)
        _ = Self.start(&machine, 2)
        _ = Self.start(&machine, 3, stream: true)
        #expect(machine.callsInFlight == 3)
        #expect(machine.admit(callID: 4) == .reject(.resourceExhausted("more than 3 calls in flight")))
        // An answer to a refused request is not a call in flight.
        machine.queue(Self.frame(), isAnswer: false)
        #expect(machine.callsInFlight == 3)
        // Once the writer has taken the waiting frames, the synchronous call is done.
        #expect(machine.takeOutput().count == 2)
        #expect(machine.callsInFlight == 2)
        #expect(machine.admit(callID: 4) == .admit)
    }

    @Test func aCallIDInFlightIsRefusedAndALateAnswerOfAnEarlierCallIsDropped() throws {
        var machine = Self.machine()
        let first = Self.start(&machine, 7)
        #expect(machine.admit(callID: 7) == .reject(.invalidArgument("call_id 7 is already in flight")))
        #expect(machine.finish(callID: 7, serial: first.serial, frame: Self.frame()) != nil)
        #expect(machine.finish(callID: 7, serial: first.serial, frame: Self.frame()) == nil)
        // The id is free again; an answer of the earlier call with that id goes nowhere.
        let second = Self.start(&machine, 7)
        #expect(second.serial != first.serial)
        #expect(machine.finish(callID: 7, serial: first.serial, frame: Self.frame()) == nil)
        #expect(machine.callsInFlight == 2)  // call 7 and the answer waiting
        let finished = machine.finish(callID: 7, serial: second.serial, frame: Self.frame())
        let call = try #require(finished)
        #expect(call.serial == second.serial)
    }

    @Test func waitingFramesAtTheirBoundStopReadingAndAtHalfOfItStreams() {
        var machine = Self.machine(maxBufferedOutputBytes: 4_096)
        let stream = Self.start(&machine, 1, stream: true)
        machine.queue(Self.frame(), isAnswer: false)
        #expect(machine.queueStreamMessage(callID: 1, serial: stream.serial, frame: Self.frame()) == .queued)
        // 2 KiB wait: the stream waits for room, requests are still read.
        #expect(machine.queueStreamMessage(callID: 1, serial: stream.serial, frame: Self.frame()) == .full)
        #expect(machine.canRead)
        machine.queue(Self.frame(), isAnswer: false)
        #expect(machine.canRead)
        machine.queue(Self.frame(), isAnswer: false)
        // 4 KiB wait: no further request is read.
        #expect(!machine.canRead)
        #expect(machine.takeOutput().count == 4)
        #expect(machine.canRead)
        #expect(machine.queueStreamMessage(callID: 1, serial: stream.serial, frame: Self.frame()) == .queued)
        // A message of a stream that is over goes nowhere.
        #expect(
            machine.queueStreamMessage(callID: 1, serial: stream.serial + 1, frame: Self.frame())
                == .ended(.cancelled("stream ended"))
        )
    }

    @Test func deadlinesEndTheirCallsEarliestFirstWithOneTimer() {
        var machine = Self.machine()
        let one = Self.start(&machine, 1, deadline: Self.at(10))
        #expect(one.armTimer == Self.at(10))
        // An earlier deadline re-arms the timer; a later one does not.
        #expect(Self.start(&machine, 2, deadline: Self.at(5)).armTimer == Self.at(5))
        #expect(Self.start(&machine, 3, deadline: Self.at(20)).armTimer == nil)
        #expect(Self.start(&machine, 4).armTimer == nil)

        let fifth = machine.deadlineTimerFired(now: Self.at(5))
        #expect(fifth.ended.map(\.callID) == [2])
        #expect(fifth.ended.first?.error == .deadlineExceeded())
        #expect(fifth.armTimer == Self.at(10))
        // A call that answered before its deadline is not ended by it.
        #expect(machine.finish(callID: 1, serial: one.serial, frame: Self.frame()) != nil)
        let tenth = machine.deadlineTimerFired(now: Self.at(10))
        #expect(tenth.ended.isEmpty)
        #expect(tenth.armTimer == Self.at(20))
        let last = machine.deadlineTimerFired(now: Self.at(25))
        #expect(last.ended.map(\.callID) == [3])
        #expect(last.armTimer == nil)
        #expect(machine.callsInFlight == 2)  // call 4, without a deadline, and call 1's answer
    }

    @Test func aCancelledCallEndsWithoutAnAnswerAndItsTaskIsHandedBack() throws {
        var machine = Self.machine()
        let started = Self.start(&machine, 5)
        let task = Task<Void, Never> {}
        let attached = machine.attach(task, callID: 5, serial: started.serial)
        #expect(attached)
        let cancel = machine.cancel(callID: 5)
        let cancelled = try #require(cancel)
        #expect(cancelled.task == task)
        #expect(machine.hasNoOutput)
        #expect(machine.callsInFlight == 0)
        #expect(machine.cancel(callID: 5) == nil)
        // Its handler's late answer and a task started for it go nowhere.
        #expect(machine.finish(callID: 5, serial: started.serial, frame: Self.frame()) == nil)
        let lateTask = Task<Void, Never> {}
        let attachedLate = machine.attach(lateTask, callID: 5, serial: started.serial)
        #expect(!attachedLate)
        #expect(machine.hasNoOutput)
    }

    @Test func drainEndsStreamsRefusesNewCallsAndClosesOnceUnaryCallsFinish() {
        var machine = Self.machine()
        let unary = Self.start(&machine, 1)
        _ = Self.start(&machine, 2, stream: true)
        let ended = machine.startDrain()
        #expect(ended.map(\.callID) == [2])
        #expect(ended.first?.error == .unavailable("server is shutting down"))
        #expect(machine.startDrain().isEmpty)
        #expect(!machine.isClosing)
        #expect(machine.canRead)
        #expect(machine.admit(callID: 3) == .reject(.unavailable("server is shutting down")))
        #expect(machine.finish(callID: 1, serial: unary.serial, frame: Self.frame()) != nil)
        // The last call answered: close once its answer is written, read nothing more.
        #expect(machine.isClosing)
        #expect(!machine.canRead)
        #expect(machine.takeOutput().count == 1)
    }

    @Test func aFatalErrorClosesOnceTheAnswerIsWritten() {
        var machine = Self.machine()
        machine.queue(Self.frame(), isAnswer: false)
        machine.closeAfterOutput()
        #expect(machine.isClosing)
        #expect(!machine.canRead)
        #expect(!machine.hasNoOutput)
    }

    @Test func aClosedConnectionEndsEveryCallAndTakesNothingMore() {
        var machine = Self.machine()
        let stream = Self.start(&machine, 1, stream: true, deadline: Self.at(10))
        _ = Self.start(&machine, 2)
        machine.queue(Self.frame(), isAnswer: true)
        let ended = machine.closed()
        #expect(Set(ended.map(\.callID)) == [1, 2])
        #expect(ended.allSatisfy { $0.error.code == .cancelled })
        #expect(machine.isClosed && machine.isClosing)
        #expect(machine.callsInFlight == 0)
        #expect(machine.hasNoOutput)
        machine.queue(Self.frame(), isAnswer: true)
        #expect(machine.hasNoOutput)
        #expect(
            machine.queueStreamMessage(callID: 1, serial: stream.serial, frame: Self.frame())
                == .ended(.unavailable("connection closed"))
        )
        #expect(machine.closed().isEmpty)
    }
}
