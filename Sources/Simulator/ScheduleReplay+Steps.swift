import SequenceParallel

/// One transfer as the replay moves it: bytes in this problem's element size.
struct PlannedTransfer: Sendable {
    var from: Int, to: Int
    /// The sender's step that posts it, and the receiver's step that takes it (clamped to the
    /// receiver's last step: TokenRing's results and partials count there).
    var step: Int, receiveStep: Int
    var bytes: Int
    var afterCompute: Bool
}

/// One rank's step as the replay takes it: seconds of compute (merges included) and the
/// transfers it posts at its start and after its compute.
struct PlannedStep {
    var work: Double
    var atStart: [PlannedTransfer], afterCompute: [PlannedTransfer]
    /// Bytes of the transfers the rank takes at this step (what it copies out, with `hostCopyRate`).
    var received = 0
}

/// Where a replay's steps come from, one at a time.
protocol StepSource {
    func stepCount(of rank: Int) -> Int
    func plan(_ rank: Int, _ step: Int) -> PlannedStep
    /// The transfers `rank` takes at `step` before it may move past it.
    func expected(_ rank: Int, _ step: Int) -> Int
}

/// Every rank's steps made up front from the schedules and the executor's transfer list (P²
/// entries for the mesh schedules): the reference the streamed sources are tested against.
struct TableSource: StepSource {
    let work: [[Double]]
    let atStart: [[[PlannedTransfer]]], afterCompute: [[[PlannedTransfer]]]
    let arrivals: [[Int]], received: [[Int]]

    init(work: [[Double]], transfers: [ScheduledTransfer], elementBytes: Int) {
        self.work = work
        var atStart = work.map { [[PlannedTransfer]](repeating: [], count: $0.count) }, afterCompute = atStart
        var arrivals = work.map { [Int](repeating: 0, count: $0.count) }, received = arrivals
        for transfer in transfers {
            let receive = min(transfer.receiveStep, work[transfer.to].count - 1)
            let planned = PlannedTransfer(from: transfer.from, to: transfer.to, step: transfer.step, receiveStep: receive,
                                          bytes: transfer.bytes / 4 * elementBytes, afterCompute: transfer.sentAfterCompute)
            if transfer.sentAfterCompute { afterCompute[transfer.from][transfer.step].append(planned) } else { atStart[transfer.from][transfer.step].append(planned) }
            arrivals[transfer.to][receive] += 1
            received[transfer.to][receive] += planned.bytes
        }
        self.atStart = atStart; self.afterCompute = afterCompute; self.arrivals = arrivals; self.received = received
    }

    func stepCount(of rank: Int) -> Int { work[rank].count }
    func plan(_ rank: Int, _ step: Int) -> PlannedStep {
        PlannedStep(work: work[rank][step], atStart: atStart[rank][step], afterCompute: afterCompute[rank][step], received: received[rank][step])
    }
    func expected(_ rank: Int, _ step: Int) -> Int { arrivals[rank][step] }
}

/// The ring schedules (ring and zigzag, forward and backward; TokenRing's backward) made step by
/// step from `RingSchedule.step`: memory proportional to P. Its work, merges and transfers are
/// those of `work()`, `mergeSeconds` and the executor's lists, which the tests compare.
struct RingSource: StepSource {
    let layout: ShardLayout, causal: Bool, backward: Bool
    /// Backward TokenRing: each foreign dK/dV partial goes straight home, taken at the end.
    let partialsGoHome: Bool
    let perPair: Double, perDiagonalPair: Double
    /// Merge seconds per token of output (out and lse), of dq, and of dK and dV; nil: free.
    let merge: (output: Double, query: Double, key: Double)?
    /// Bytes of a K/V block per token on the wire.
    let keyBytesPerToken: Int
    /// Whether plans carry the bytes taken (only host copies need them; they cost a step's look-up).
    var countsReceived = true

    var ranks: Int { layout.ranks }
    func stepCount(of rank: Int) -> Int { ranks }

    func expected(_ rank: Int, _ step: Int) -> Int {
        guard ranks > 1 else { return 0 }
        var count = step < ranks - 1 ? 1 : 0                                  // the next step's K/V
        if backward { count += partialsGoHome ? (step == ranks - 1 ? ranks - 1 : 0) : 1 }
        return count
    }

    func plan(_ rank: Int, _ index: Int) -> PlannedStep {
        let step = RingSchedule.step(index, rank: rank, layout: layout, isCausal: causal)
        let mine = layout.chunks(ofRank: rank), held = layout.chunks(ofRank: step.keyOwner)
        var work = step.blocks.reduce(0.0) { sum, block in
            let q = layout.range(ofChunk: mine[block.queryChunk]).count, k = layout.range(ofChunk: held[block.keyChunk]).count
            return sum + (block.mask == .full ? Double(q * k) * perPair : Double(q * (q + 1) / 2) * perDiagonalPair)
        }
        if let merge {
            // Every accumulator is first written at step 0 (each chunk meets its own diagonal): a copy.
            let scale = index == 0 ? ScheduleReplay.copyBytesPerElement / ScheduleReplay.mergeBytesPerElement : 1
            for chunk in Set(step.blocks.map(\.queryChunk)) {
                work += Double(layout.range(ofChunk: mine[chunk]).count) * (backward ? merge.query : merge.output) * scale
            }
            if backward {
                for chunk in Set(step.blocks.map(\.keyChunk)) where !partialsGoHome || step.keyOwner == rank {
                    work += Double(layout.range(ofChunk: held[chunk]).count) * merge.key * scale
                }
                // The partials that came home, added in the last step.
                if partialsGoHome && index == ranks - 1 {
                    for other in 0..<ranks where other != rank {
                        let theirs = RingSchedule.step((other - rank + ranks) % ranks, rank: other, layout: layout, isCausal: causal)
                        for chunk in Set(theirs.blocks.map(\.keyChunk)) {
                            work += Double(layout.range(ofChunk: layout.chunks(ofRank: rank)[chunk]).count) * merge.key
                        }
                    }
                }
            }
        }
        let bytes = layout.tokenCount(ofRank: step.keyOwner) * keyBytesPerToken
        var atStart: [PlannedTransfer] = [], afterCompute: [PlannedTransfer] = []
        if let next = step.sendTo {
            atStart.append(PlannedTransfer(from: rank, to: next, step: index, receiveStep: index, bytes: bytes, afterCompute: false))
        }
        if backward && ranks > 1 {
            if !partialsGoHome {
                afterCompute.append(PlannedTransfer(from: rank, to: (rank + 1) % ranks, step: index, receiveStep: index, bytes: bytes, afterCompute: true))
            } else if step.keyOwner != rank {
                afterCompute.append(PlannedTransfer(from: rank, to: step.keyOwner, step: index, receiveStep: ranks - 1, bytes: bytes, afterCompute: true))
            }
        }
        return PlannedStep(work: work, atStart: atStart, afterCompute: afterCompute, received: countsReceived ? received(rank, index) : 0)
    }

    /// Bytes `rank` takes at step `index`: the next K/V block from the rank before, and backward
    /// that rank's dK/dV partial (TokenRing: every foreign partial of its own chunk, at the end).
    private func received(_ rank: Int, _ index: Int) -> Int {
        guard ranks > 1 else { return 0 }
        let previous = (rank - 1 + ranks) % ranks
        let theirs = RingSchedule.step(index, rank: previous, layout: layout, isCausal: causal)
        var bytes = index < ranks - 1 ? layout.tokenCount(ofRank: theirs.keyOwner) * keyBytesPerToken : 0
        if backward {
            if !partialsGoHome {
                bytes += layout.tokenCount(ofRank: theirs.keyOwner) * keyBytesPerToken
            } else if index == ranks - 1 {
                bytes += (ranks - 1) * layout.tokenCount(ofRank: rank) * keyBytesPerToken
            }
        }
        return bytes
    }
}

extension ScheduleReplay {
    /// The steps of this replay, made one at a time (`table`: all up front, as tests compare).
    func stepSource(table: Bool) -> any StepSource {
        let p = problem
        let ringSteps = algorithm == .ring || algorithm == .zigzagRing || (algorithm == .tokenring && pass == .backward)
        if ringSteps && !table {
            let zigzag = algorithm == .zigzagRing || (algorithm == .tokenring && p.causal)
            let flopsPerPair = (pass == .forward ? 4 : 10) * Double(p.heads * p.headDimension)
            let perElement = mergeRate.map { Self.mergeBytesPerElement / $0 }
            return RingSource(layout: ShardLayout(tokens: p.tokens, ranks: p.ranks, kind: zigzag ? .zigzag : .contiguous), causal: p.causal,
                              backward: pass == .backward, partialsGoHome: algorithm == .tokenring,
                              perPair: flopsPerPair / computeRate, perDiagonalPair: flopsPerPair / (diagonalRate ?? computeRate),
                              merge: perElement.map { (Double(p.heads * (p.headDimension + 1)) * $0, Double(p.heads * p.headDimension) * $0,
                                                       Double(2 * p.keyHeads * p.headDimension) * $0) },
                              keyBytesPerToken: 2 * p.keyHeads * p.headDimension * p.elementBytes, countsReceived: hostCopyRate != nil)
        }
        if !table {
            let flopsPerPair = (pass == .forward ? 4 : 10) * Double(p.heads * p.headDimension)
            let cost = BlockCost(perPair: flopsPerPair / computeRate, perDiagonalPair: flopsPerPair / (diagonalRate ?? computeRate))
            let perElement = mergeRate.map { Self.mergeBytesPerElement / $0 }
            switch algorithm {
            case .tokenring where pass == .forward:
                return TokenRingForwardSource(layout: ShardLayout(tokens: p.tokens, ranks: p.ranks, kind: p.causal ? .zigzag : .contiguous),
                                              causal: p.causal, heads: p.heads, headDimension: p.headDimension, elementBytes: p.elementBytes,
                                              cost: cost, mergePerToken: perElement.map { Double(p.heads * (p.headDimension + 1)) * $0 })
            case .ulysses:
                return UlyssesSource(layout: ShardLayout(tokens: p.tokens, ranks: p.ranks, kind: .contiguous), backward: pass == .backward,
                                     heads: p.heads, keyHeads: p.keyHeads, headDimension: p.headDimension, elementBytes: p.elementBytes,
                                     seconds: cost(p.tokens, p.tokens, p.causal ? .causal : .full) / Double(p.ranks))
            case .usp:
                let width = Double(p.heads * (pass == .forward ? p.headDimension + 1 : p.headDimension))
                return HybridSource(tokens: p.tokens, ranks: p.ranks, degree: p.ulyssesDegree, causal: p.causal, backward: pass == .backward,
                                    heads: p.heads, keyHeads: p.keyHeads, headDimension: p.headDimension, elementBytes: p.elementBytes, cost: cost,
                                    merge: perElement.map { (width * $0, Double(2 * p.keyHeads * p.headDimension) * $0) })
            default: break
            }
        }
        let blocks = work(), merges = mergeSeconds(shape: blocks.map(\.count))
        return TableSource(work: zip(blocks, merges).map { zip($0, $1).map(+) }, transfers: executorTransfers(), elementBytes: p.elementBytes)
    }

    /// The executor's list for this pass, in float32 bytes.
    func executorTransfers() -> [ScheduledTransfer] {
        let p = problem
        return pass == .forward
            ? algorithm.forwardTransfers(tokens: p.tokens, ranks: p.ranks, isCausal: p.causal, heads: p.heads, keyHeads: p.keyHeads,
                                         headDimension: p.headDimension, ulyssesDegree: p.ulyssesDegree)
            : algorithm.backwardTransfers(tokens: p.tokens, ranks: p.ranks, isCausal: p.causal, heads: p.heads, keyHeads: p.keyHeads,
                                          headDimension: p.headDimension, ulyssesDegree: p.ulyssesDegree)
    }
}
