import ActiveDormant
import Cluster
import Foundation
import Mechanisms
import Models
import Tasks

/// `loom train`: trains one small transformer on the Bigram-Backcopy task in this process.
enum TrainCommand: Command {
    static let words = ["train"]
    static let summary = "train a small transformer on the Bigram-Backcopy task here, printing loss and risks"
    static let usage = "loom train [--layers N] [--d-model D] [--heads H] [--steps S] [--optimizer adamw|sgd] [--lr R] … [--checkpoint-dir DIR] [--json]"
    static var options: [Option] {
        TrainParameters.declaration.map { Option.parameter($0) } + [.flag("json", "one JSON object per measurement")]
    }
    static let discussion = """
        The same training as the task kind train.bb (experiment files sweep it on workers), run in \
        this process. Every --evaluate-every steps it prints the step, the mean training loss since \
        the last line, the loss and the backcopy and bigram risks (and the bigram risk's excess over \
        the oracle) on a fixed evaluation batch, the gradient norm, and tokens/s. With \
        --checkpoint-dir the state is saved every --checkpoint-every steps and at the end, and a run \
        started with the same settings and directory resumes from it, with the same losses bit for \
        bit. Ctrl-C stops after the current step (and checkpoints, with --checkpoint-dir).
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        var given: [String: ParameterValue] = [:]
        for spec in TrainParameters.declaration {
            if let text = arguments.string(Option.optionName(spec.name)) { given[spec.name] = .string(text) }
        }
        let params: [String: ParameterValue]
        do { params = try TrainKind.kind.validate(given, gangSize: 0) } catch {
            // The kind's words, in the command's terms: option --steps, not parameter 'steps'.
            var text = "\(error)".replacingOccurrences(of: "invalid task: ", with: "")
            for spec in TrainParameters.declaration {
                text = text.replacingOccurrences(of: "parameter '\(spec.name)' of kind 'train.bb'", with: "--\(Option.optionName(spec.name))")
            }
            throw .usage(text)
        }
        let session: TrainingSession
        do { session = try TrainingSession(TrainParameters(ResolvedParameters(params))) } catch let error as ModelError {
            if case .configuration = error { throw .usage(error.description) }
            throw .failure(error.description)
        } catch { throw .failure("\(error)") }
        let signals = Signals()
        let json = arguments.flag("json")
        let config = session.config
        if session.resumedFrom > 0 { Console.progress("resuming from step \(session.resumedFrom) (\(session.checkpoints!.path))") }
        Console.progress("training \(config.model.depth)-layer d=\(config.model.dModel) H=\(config.model.heads) "
                         + "(\(config.model.parameterCount) parameters) for \(config.steps) steps of \(config.batch)×\(config.model.context) tokens")
        if !json {
            Console.output(["step", "train_loss", "eval_loss", "backcopy", "bigram", "excess", "L0 sink", "L0 prev", "grad_norm", "tokens/s"]
                .map { $0.leftPadding(11) }.joined())
        }
        do {
            try session.trainer.run(checkpoints: session.checkpoints, shouldStop: { signals.received }) { measurement in
                let v = measurement.values
                if json {
                    let fields = v.keys.sorted().map { "\(ParameterValue.string($0).json):\(ParameterValue.double(v[$0]!).json)" }
                    Console.output("{\"step\":\(measurement.step),\(fields.joined(separator: ","))}")
                } else {
                    func cell(_ name: String, _ format: String = "%.4f") -> String {
                        (v[name].map { String(format: format, $0) } ?? "—").leftPadding(11)
                    }
                    Console.output(String(measurement.step).leftPadding(11) + cell("train_loss") + cell("eval_loss")
                                   + cell("backcopy_risk") + cell("bigram_risk") + cell("excess_bigram_risk")
                                   + cell(ActiveDormantProbe.attentionSink.instance(0, 0)) + cell(ActiveDormantProbe.attentionPrevious.instance(0, 0))
                                   + cell("grad_norm", "%.3f") + cell("tokens_per_s", "%.0f"))
                }
                Console.flush()
            }
        } catch { throw .failure("\(error)") }
        if session.probes, !signals.received {
            do {
                let analysis = try TrainingAnalysis(session)
                let triggers = Set(session.task.triggers)
                for effect in analysis.effects {
                    Console.progress(effect.name.padding(24) + String(format: "Δ backcopy risk %+8.4f   Δ bigram risk %+8.4f",
                                                                      effect.deltaBackcopy, effect.deltaBigram))
                }
                for head in analysis.active.keys.sorted() {
                    let tokens = analysis.active[head]!.sorted().map { "'\(session.task.statistics.vocabulary[$0])'" }
                    Console.progress("\(head) is active on \(tokens.count) token(s)\(analysis.active[head] == triggers ? " (exactly the triggers)" : ""): "
                                     + tokens.prefix(12).joined(separator: " ") + (tokens.count > 12 ? " …" : ""))
                }
            } catch { throw .failure("\(error)") }
        }
        if signals.received {
            throw .failure("interrupted at step \(session.trainer.step)"
                           + (session.checkpoints.map { "; the same command resumes from \($0.path)" } ?? ""))
        }
    }
}
