import Testing

@testable import tokenbench

/// The benchmark's CPU accounting: `/proc` lines parsed field by field, threads sorted by name.
@Suite struct ProcessCPUTests {
    @Test func threadTicksAreUserPlusSystemTimeEvenWhenTheNameHoldsSpacesAndParentheses() {
        // Fields 14 (utime) and 15 (stime) are 700 and 42; the name would shift a naive split.
        let stat = "4242 (store (writer) x) S 1 4240 4240 0 -1 4194560 120 0 0 0 700 42 0 0 20 0 9 0 100 0 0"
        #expect(ProcessCPU.threadTicks(stat) == 742)
        #expect(ProcessCPU.threadTicks("4242 (cut short) S 1 2 3") == nil)
        #expect(ProcessCPU.threadTicks("no parenthesis at all") == nil)
    }

    @Test func machineIdleCountsIdleAndIOWaitAgainstTheTimeFieldsOnly() throws {
        // user nice system idle iowait irq softirq steal guest guest_nice: guest repeats user time.
        let stat = "cpu  100 0 50 300 20 0 10 20 100 0\ncpu0 50 0 25 150 10 0 5 10 50 0\n"
        let counters = try #require(ProcessCPU.machineCounters(stat))
        #expect(counters.idle == 320)
        #expect(counters.total == 500)
        #expect(ProcessCPU.machineCounters("intr 1 2 3\n") == nil)
    }

    @Test func threadsAreSortedIntoRolesByName() {
        #expect(ProcessCPU.Role(threadName: "NIO-SGLTN-0-#1") == .eventLoops)
        #expect(ProcessCPU.Role(threadName: "NIO-ELT-3-#0") == .loadGenerator)
        #expect(ProcessCPU.Role(threadName: "store writer") == .storeWriter)
        #expect(ProcessCPU.Role(threadName: "store reader 2") == .storeReaders)
        #expect(ProcessCPU.Role(threadName: "tokenbench") == .other)
    }

    /// Burns CPU on this thread until the counters show it (a clock tick is 10 ms), for at most 30
    /// seconds: a reader that lost the process's threads, or read the wrong fields, fails then.
    @Test func usageGrowsWithTheCPUThisProcessBurns() throws {
        let start = try #require(ProcessCPU.take())
        let giveUp = ContinuousClock.now + .seconds(30)
        var burnt = 0.0
        var checksum: UInt64 = 0
        while burnt == 0, ContinuousClock.now < giveUp {
            for value in 0..<200_000 { checksum = checksum &* 31 &+ UInt64(value) }
            burnt = try #require(ProcessCPU.take()).usage(since: start).seconds.values.reduce(0, +)
        }
        let usage = try #require(ProcessCPU.take()).usage(since: start)
        #expect(checksum != 1)
        #expect(burnt > 0)
        #expect(usage.seconds[.other, default: 0] > 0)
        #expect((0...1).contains(usage.idleShare))
    }
}
