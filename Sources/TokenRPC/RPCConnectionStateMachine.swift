import NIOCore

/// The bookkeeping of one RPC connection: its calls in flight and their deadlines, the frames
/// waiting to be written, and graceful shutdown. It does no I/O and reads no clock: every mutating
/// func returns what the connection must do (answer, cancel a task, arm the deadline timer, log),
/// and `RPCServerConnection` does it.
///
/// A call is in flight from its request's arrival until its last frame is handed to the socket, so
/// every method counts against `maxCalls`, a synchronous one too while its answer waits to be
/// written. The frames waiting are bounded by `maxBufferedOutputBytes`: past it the connection reads
/// no further request, so a peer that does not read stops being read. Stream messages wait already
/// at half the bound, so that streams writing as fast as they can never keep the connection from
/// reading its requests (a cancel among them).
struct RPCConnectionStateMachine {
    /// A call that has not answered yet: a handler at work, or a stream.
    struct Call {
        let serial: UInt64
        let method: String
        let caller: String?
        let isStream: Bool
        let start: ContinuousClock.Instant
        var task: Task<Void, Never>?
    }

    /// A call the connection ended without its handler's answer: to cancel, answer with `error`
    /// (unless the connection closed) and log.
    struct EndedCall {
        let callID: UInt64
        let call: Call
        let error: RPCError
    }

    /// What to do with a new request, before its method is looked up.
    enum OnRequest: Equatable {
        /// Look up the method and authenticate; then run it (registering it unless it is synchronous).
        case admit
        /// Answer `error` at once; the call never starts.
        case reject(RPCError)
    }

    /// What became of a stream message.
    enum OnStreamMessage: Equatable {
        /// It waits to be written.
        case queued
        /// The frames waiting have reached half their bound: the stream's writer waits for room.
        case full
        /// The stream has ended (its call was cancelled, timed out or drained, or the connection closed).
        case ended(RPCError)
    }

    /// The connection's limits.
    struct Limits {
        /// Calls in flight, answers waiting to be written included.
        var maxCalls: Int
        /// Bytes (of buffer storage) of frames waiting to be written before reading pauses; stream
        /// messages wait at half of it.
        var maxBufferedOutputBytes: Int
    }

    private let limits: Limits
    private var calls: [UInt64: Call] = [:]
    private var nextSerial: UInt64 = 0
    private var deadlines = DeadlineQueue()
    /// When the connection's deadline timer fires; nil while it is not armed.
    private var timerDeadline: NIODeadline?
    private var output: [ByteBuffer] = []
    private var outputBytes = 0
    /// Frames in `output` that are a call's last answer (counted in flight until written).
    private var queuedAnswers = 0
    private var draining = false
    private var closeRequested = false
    private(set) var isClosed = false

    init(limits: Limits) {
        self.limits = limits
    }

    /// Calls in flight: those running plus the answers waiting to be written.
    var callsInFlight: Int { calls.count + queuedAnswers }

    /// Whether the next request may be read: the frames waiting are below their bound.
    var canRead: Bool { !isClosing && outputBytes < limits.maxBufferedOutputBytes }

    /// The connection is to close once its frames are written: no request is read any more.
    var isClosing: Bool { isClosed || closeRequested || (draining && calls.isEmpty) }

    /// Whether no frame waits to be written.
    var hasNoOutput: Bool { output.isEmpty }

    // MARK: - Calls

    /// Checks a new request against the connection: its call id must not be in flight, the calls in
    /// flight must be below the limit, and the connection must not be draining.
    mutating func admit(callID: UInt64) -> OnRequest {
        if calls[callID] != nil {
            return .reject(.invalidArgument("call_id \(callID) is already in flight"))
        }
        if callsInFlight >= limits.maxCalls {
            return .reject(.resourceExhausted("more than \(limits.maxCalls) calls in flight"))
        }
        if draining || isClosing {
            return .reject(.unavailable("server is shutting down"))
        }
        return .admit
    }

    /// Registers an admitted call that answers later (a deferred, task or stream handler).
    /// - Parameter deadline: when the call times out; nil for none.
    /// - Returns: the call's serial (which tells it from a later call reusing its id), and the time to
    ///   arm the deadline timer at when it must be armed anew.
    mutating func start(
        callID: UInt64,
        method: String,
        caller: String?,
        isStream: Bool,
        start: ContinuousClock.Instant,
        deadline: NIODeadline?
    ) -> (serial: UInt64, armTimer: NIODeadline?) {
        nextSerial &+= 1
        let serial = nextSerial
        calls[callID] = Call(serial: serial, method: method, caller: caller, isStream: isStream, start: start)
        guard let deadline else { return (serial, nil) }
        if deadlines.count > 2 * calls.count + 64 {
            deadlines.prune { calls[$0.callID]?.serial == $0.serial }
        }
        deadlines.push(DeadlineQueue.Entry(deadline: deadline, callID: callID, serial: serial))
        if let timerDeadline, timerDeadline <= deadline {
            return (serial, nil)
        }
        timerDeadline = deadline
        return (serial, deadline)
    }

    /// Records the task running a call.
    /// - Returns: false when the call has ended already: cancel the task.
    mutating func attach(_ task: Task<Void, Never>, callID: UInt64, serial: UInt64) -> Bool {
        guard calls[callID]?.serial == serial else { return false }
        calls[callID]?.task = task
        return true
    }

    /// A handler answered: its last frame waits to be written, unless the call ended meanwhile.
    /// - Returns: the call (to log), nil when the answer is to be dropped.
    mutating func finish(callID: UInt64, serial: UInt64, frame: ByteBuffer) -> Call? {
        guard let call = remove(callID, serial: serial) else { return nil }
        queue(frame, isAnswer: true)
        return call
    }

    /// The client cancels a call: it ends without an answer.
    /// - Returns: the call (to cancel and log), nil when no such call is in flight.
    mutating func cancel(callID: UInt64) -> Call? {
        calls.removeValue(forKey: callID)
    }

    /// The deadline timer fired at `now`: the calls past their deadline end with DEADLINE_EXCEEDED.
    /// - Returns: the ended calls and when to arm the timer next (nil: no deadline left).
    mutating func deadlineTimerFired(now: NIODeadline) -> (ended: [EndedCall], armTimer: NIODeadline?) {
        var ended: [EndedCall] = []
        while let due = deadlines.popDue(now: now) {
            if let call = remove(due.callID, serial: due.serial) {
                ended.append(EndedCall(callID: due.callID, call: call, error: .deadlineExceeded()))
            }
        }
        timerDeadline = deadlines.earliest
        return (ended, timerDeadline)
    }

    /// Graceful shutdown: new calls are refused, streams end with UNAVAILABLE, unary calls finish;
    /// the connection closes once they have (see `isClosing`).
    /// - Returns: the streams ended.
    mutating func startDrain() -> [EndedCall] {
        guard !draining, !isClosed else { return [] }
        draining = true
        var ended: [EndedCall] = []
        for (callID, call) in calls where call.isStream {
            calls[callID] = nil
            ended.append(EndedCall(callID: callID, call: call, error: .unavailable("server is shutting down")))
        }
        return ended
    }

    /// The connection is to close once the frames waiting are written (a fatal error was answered).
    mutating func closeAfterOutput() {
        closeRequested = true
    }

    /// The connection closed: every call ends (their tasks to cancel), nothing more is written.
    /// - Returns: the calls ended, as CANCELLED.
    mutating func closed() -> [EndedCall] {
        guard !isClosed else { return [] }
        isClosed = true
        let ended = calls.map { EndedCall(callID: $0.key, call: $0.value, error: .cancelled("connection closed")) }
        calls.removeAll()
        output.removeAll()
        outputBytes = 0
        queuedAnswers = 0
        timerDeadline = nil
        return ended
    }

    private mutating func remove(_ callID: UInt64, serial: UInt64) -> Call? {
        guard let call = calls[callID], call.serial == serial else { return nil }
        calls[callID] = nil
        return call
    }

    // MARK: - Output

    /// Queues a frame to write: a call's last answer (`isAnswer`, counted in flight until written) or
    /// the answer to a request that never started.
    mutating func queue(_ frame: ByteBuffer, isAnswer: Bool) {
        guard !isClosed else { return }
        output.append(frame)
        outputBytes += frame.storageCapacity
        if isAnswer {
            queuedAnswers += 1
        }
    }

    /// Queues one message of a stream, unless the frames waiting have reached half their bound (the
    /// other half is the requests' own).
    mutating func queueStreamMessage(callID: UInt64, serial: UInt64, frame: ByteBuffer) -> OnStreamMessage {
        guard !isClosed else { return .ended(.unavailable("connection closed")) }
        guard calls[callID]?.serial == serial else { return .ended(.cancelled("stream ended")) }
        guard outputBytes < limits.maxBufferedOutputBytes / 2 else { return .full }
        output.append(frame)
        outputBytes += frame.storageCapacity
        return .queued
    }

    /// The writer takes every frame waiting; the calls they answer are no longer in flight.
    mutating func takeOutput() -> [ByteBuffer] {
        let frames = output
        output = []
        outputBytes = 0
        queuedAnswers = 0
        return frames
    }
}
