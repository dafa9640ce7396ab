import SequenceParallel

extension ScheduleReplay {
    /// Bytes one merged element costs: the accumulator read and written, the partial read, each as
    /// float32 (GPU schedules accumulate in float32 whatever travels on the wire).
    public static let mergeBytesPerElement = 12.0
    /// The first merge into an accumulator is a copy: nothing to read from it.
    static let copyBytesPerElement = 8.0

    /// Seconds of merging in each rank's steps (rank × step, the shape of `work()`), at
    /// `mergeRate` bytes/s; zeros without one. A merge folds a block's partial result into an
    /// accumulator, one elementwise pass over memory per (step, accumulator chunk):
    /// - forward, ring and zigzag: each query chunk with a block at the step, its output and
    ///   log-sum-exp (tokens × H × (d + 1));
    /// - forward, TokenRing: the same, at the holder for its own queries and at the owner's tail
    ///   step for every partial that came home;
    /// - backward (ring steps): dq of each query chunk with a block (tokens × H × d) and dK, dV
    ///   of each held chunk with a block (2 × tokens × Hkv × d); TokenRing's foreign dK/dV
    ///   partials at the owner's last step;
    /// - Ulysses: none, each rank runs one whole attention; usp: its ring steps' merges on H/u heads.
    /// The first merge into each accumulator is a copy (`copyBytesPerElement`).
    func mergeSeconds(shape: [Int]) -> [[Double]] {
        var seconds = shape.map { [Double](repeating: 0, count: $0) }
        guard let mergeRate, algorithm != .ulysses else { return seconds }
        let p = problem, perElement = Self.mergeBytesPerElement / mergeRate
        // Accumulators already written, by (rank, what, chunk): what 0 is out or dq, 1 is dK/dV.
        var written = Set<[Int]>()
        func scale(_ rank: Int, _ what: Int, _ chunk: Int) -> Double {
            written.insert([rank, what, chunk]).inserted ? Self.copyBytesPerElement / Self.mergeBytesPerElement : 1
        }
        let outputWidth = Double(p.heads * (p.headDimension + 1)), queryWidth = Double(p.heads * p.headDimension)
        let keyWidth = Double(2 * p.keyHeads * p.headDimension)
        // Step by step over all ranks, so each accumulator's first merge is its earliest.
        if pass == .forward && algorithm == .tokenring {
            let schedules = (0..<p.ranks).map { TokenRingSchedule(tokens: p.tokens, ranks: p.ranks, rank: $0, isCausal: p.causal) }
            for index in 0..<p.ranks {
                for (rank, schedule) in schedules.enumerated() {
                    let step = schedule.steps[index], layout = schedule.layout
                    let owner = layout.chunks(ofRank: step.queryOwner)
                    for chunk in Set(step.blocks.map(\.queryChunk)).sorted() {
                        let cost = Double(layout.range(ofChunk: owner[chunk]).count) * outputWidth * perElement * scale(step.queryOwner, 0, owner[chunk])
                        // Foreign partials are merged when they come home, in the owner's tail step.
                        if step.queryOwner == rank { seconds[rank][step.step] += cost } else { seconds[step.queryOwner][p.ranks] += cost }
                    }
                }
            }
            return seconds
        }
        if algorithm == .usp {
            // The ring's merges among the ranks of one member index, on H/u heads, steps 1 … r.
            let u = Double(p.ulyssesDegree)
            let schedules = (0..<p.ranks).map {
                HybridSchedule(tokens: p.tokens, ranks: p.ranks, ulyssesDegree: p.ulyssesDegree, rank: $0, heads: p.heads, keyHeads: p.keyHeads,
                               isCausal: p.causal)
            }
            for index in 0..<(schedules.first?.groups ?? 0) {
                for (rank, schedule) in schedules.enumerated() {
                    let layout = schedule.ringLayout, step = schedule.ring.steps[index]
                    let mine = layout.chunks(ofRank: schedule.group), held = layout.chunks(ofRank: step.keyOwner)
                    for chunk in Set(step.blocks.map(\.queryChunk)).sorted() {
                        let tokens = Double(layout.range(ofChunk: mine[chunk]).count)
                        seconds[rank][index + 1] += tokens * (pass == .forward ? outputWidth : queryWidth) / u * perElement * scale(rank, 0, mine[chunk])
                    }
                    guard pass == .backward else { continue }
                    for chunk in Set(step.blocks.map(\.keyChunk)).sorted() {
                        let owner = step.keyOwner * p.ulyssesDegree + schedule.member
                        seconds[rank][index + 1] += Double(layout.range(ofChunk: held[chunk]).count) * keyWidth / u * perElement * scale(owner, 1, held[chunk])
                    }
                }
            }
            return seconds
        }
        let zigzag = algorithm == .zigzagRing || (algorithm == .tokenring && p.causal)
        let layout = ShardLayout(tokens: p.tokens, ranks: p.ranks, kind: zigzag ? .zigzag : .contiguous)
        let schedules = (0..<p.ranks).map { RingSchedule(layout: layout, rank: $0, isCausal: p.causal) }
        for index in 0..<p.ranks {
            for (rank, schedule) in schedules.enumerated() {
                let step = schedule.steps[index], mine = layout.chunks(ofRank: rank), held = layout.chunks(ofRank: step.keyOwner)
                for chunk in Set(step.blocks.map(\.queryChunk)).sorted() {
                    let tokens = Double(layout.range(ofChunk: mine[chunk]).count)
                    seconds[rank][step.step] += tokens * (pass == .forward ? outputWidth : queryWidth) * perElement * scale(rank, 0, mine[chunk])
                }
                guard pass == .backward else { continue }
                for chunk in Set(step.blocks.map(\.keyChunk)).sorted() {
                    let cost = Double(layout.range(ofChunk: held[chunk]).count) * keyWidth * perElement * scale(step.keyOwner, 1, held[chunk])
                    // TokenRing sends a foreign block's dK/dV home; its owner adds them at the end.
                    let home = algorithm == .tokenring ? step.keyOwner : rank
                    seconds[home][home == rank ? step.step : p.ranks - 1] += cost
                }
            }
        }
        return seconds
    }
}
