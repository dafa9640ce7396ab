import Foundation
import Reports
import Simulator
import Tasks

/// `loom sim published`: the simulator against published GPU measurements, each beside Loom's
/// prediction with its error, and which points calibrated the model.
enum SimPublishedCommand: Command {
    static let words = ["sim", "published"]
    static let summary = "compare the simulator with published GPU numbers (ring-flash-attention, TokenRing, USP), calibrating on one point per kernel family"
    static let usage = "loom sim published [--report DIR] [--json]"
    static let options: [Option] = [
        .value("report", "DIR", "also write a report there: predicted against published, the error of each number, every number in the index (svg, pdf, index.html)"),
        .flag("json", "one JSON object"),
    ]
    static let discussion = """
        The networks are the presets' spec-sheet links (topologies/). One point per family \
        calibrates: each GPU's forward and backward efficiency from ring-flash-attention's \
        single-GPU flash_attn column, the merges' fraction of memory bandwidth from its H800 \
        zigzag forward, the PCIe uplinks' efficiency from TokenRing's ring step. Every other \
        number is predicted without being seen. docs/simulator.md discusses the errors.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let rows: [PublishedComparison.Row], calibration: PublishedComparison.Calibration, claims: [PublishedComparison.Claim]
        let report = arguments.string("report").map { URL(fileURLWithPath: $0) }
        if let report {
            do { try FileManager.default.createDirectory(at: report, withIntermediateDirectories: true) } catch {
                throw .usage("--report \(report.path): cannot create the directory: \(error.localizedDescription)")
            }
        }
        do { (rows, calibration, claims) = try PublishedComparison.run() } catch { throw .failure("\(error)") }
        if let report { try writeReport(rows, claims: claims, calibration: calibration, to: report) }
        let heldOut = rows.filter { $0.role == .heldOut }.map { abs($0.error) }
        let mean = heldOut.reduce(0, +) / Double(max(1, heldOut.count)), largest = heldOut.max() ?? 0
        if arguments.flag("json") {
            Console.output(JSONValue.object([
                ("rows", .array(rows.map { row in
                    .object([("source", .string(row.source)), ("setting", .string(row.setting)), ("unit", .string(row.unit)),
                             ("published", .number(row.published)), ("predicted", .number(row.predicted)),
                             ("error", .number(row.error)), ("role", .string(row.role.rawValue))])
                })),
                ("calibration", .object([
                    ("forward", .object(calibration.forward.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
                    ("backward", .object(calibration.backward.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
                    ("merge", .number(calibration.merge)), ("pcie_uplink_efficiency", .number(calibration.pcieUplinkEfficiency)),
                ])),
                ("claims", .array(claims.map { claim in
                    .object([("source", .string(claim.source)), ("setting", .string(claim.setting)), ("claim", .string(claim.claim)),
                             ("predicted_ratio", .number(claim.ratio)), ("holds", .bool(claim.holds)),
                             ("all_to_all_efficiency_at_most", claim.allToAllAtMost.map { .number($0) } ?? .null),
                             ("all_to_all_efficiency_above", claim.allToAllAtLeast.map { .number($0) } ?? .null)])
                })),
                ("held_out_mean_abs_error", .number(mean)), ("held_out_max_abs_error", .number(largest)),
            ]).rendered())
            return
        }
        var source = ""
        for row in rows {
            if row.source != source {
                source = row.source
                Console.output("\n\(source)")
            }
            let shown = { (value: Double) in row.unit == "ms" ? String(format: "%.2f ms", value) : String(format: "%.1f %%", 100 * value) }
            Console.output("  \(row.setting)\n    published \(shown(row.published)), predicted \(shown(row.predicted)), "
                           + String(format: "%+.1f %%", 100 * row.error) + " (\(row.role.rawValue))")
        }
        if let first = claims.first { Console.output("\n\(first.source)") }
        for claim in claims {
            Console.output("  \(claim.setting)\n    published: \(claim.claim); predicted ratio "
                           + String(format: "%.2f", claim.ratio) + (claim.holds ? " (holds)" : " (not met)"))
            if let most = claim.allToAllAtMost {
                Console.output(String(format: "    holds if the all-to-all reaches at most %.3f of its links' bandwidth", most)
                               + (claim.allToAllAtLeast.map { String(format: " and more than %.4f", $0) } ?? "")
                               + " (all_to_all_efficiency; not calibrated: no published all-to-all figure for these GPUs)")
            }
        }
        let efficiencies = calibration.forward.keys.sorted().map { gpu in
            String(format: "%@ forward %.3f, backward %.3f of peak", gpu, calibration.forward[gpu]!, calibration.backward[gpu] ?? 0)
        }
        Console.output("\ncalibrated: " + efficiencies.joined(separator: "; ")
                       + String(format: "; merges %.3f of memory bandwidth; PCIe uplinks %.3f of spec", calibration.merge, calibration.pcieUplinkEfficiency))
        Console.output(String(format: "held out: %d numbers, mean |error| %.1f %%, largest %.1f %%", heldOut.count, 100 * mean, 100 * largest))
    }

    /// The comparison as a report: predicted against published, one panel per unit (the published
    /// values again mark the diagonal), every number with its role and error in the index, the
    /// claims and the calibration in its provenance.
    static func writeReport(_ rows: [PublishedComparison.Row], claims: [PublishedComparison.Claim],
                            calibration: PublishedComparison.Calibration, to directory: URL) throws(CommandError) {
        let runs = rows.enumerated().map { index, row in
            // Percentages of ideal shown as percent, step times in ms.
            let scale = row.unit == "ms" ? 1.0 : 100.0
            return ReportData.Run(id: Int64(index + 1), params: [
                "number": .int(index + 1), "source": .string(row.source), "setting": .string(row.setting), "unit": .string(row.unit == "ms" ? "ms" : "% of ideal"),
                "role": .string(row.role.rawValue),
            ], metrics: [
                "published": .double(row.published * scale), "predicted": .double(row.predicted * scale), "error_pct": .double(100 * row.error),
            ])
        }
        var provenance: [(String, String)] = claims.map { claim in
            var text = "\(claim.claim): predicted ratio " + String(format: "%.2f", claim.ratio) + (claim.holds ? " (holds)" : " (not met)")
            if let most = claim.allToAllAtMost { text += String(format: "; holds with an all-to-all efficiency of at most %.3f", most) }
            return ("claim, \(claim.setting)", text)
        }
        provenance.append(("calibrated", calibration.forward.keys.sorted().map { gpu in
            String(format: "%@ forward %.3f, backward %.3f of peak", gpu, calibration.forward[gpu]!, calibration.backward[gpu] ?? 0)
        }.joined(separator: "; ") + String(format: "; merges %.3f of memory bandwidth; PCIe uplinks %.3f of spec", calibration.merge,
                                           calibration.pcieUplinkEfficiency)))
        let data = ReportData(experiment: "sim-published", description: "the simulator against published GPU numbers", runs: runs,
                              provenance: provenance)
        // One log-log panel for both units (% of ideal lie at 48–90, step times at 3–8 ms), and each
        // number's error by its place in the table.
        let spec = ReportSpec(figures: [
            FigureSpec(name: "published", kind: .scatter, x: "published", y: "predicted", logX: true, logY: true,
                       title: "predicted against published (the published values again: the diagonal)", xLabel: "published (% of ideal, or ms)",
                       yLabel: "predicted", alsoY: ["published"]),
            FigureSpec(name: "error", kind: .scatter, x: "number", y: "error_pct", series: "role",
                       title: "error of each published number", xLabel: "number (the index's table)", yLabel: "error (%)"),
        ])
        do {
            let output = try Report.render(data, spec: spec, to: directory)
            Console.progress("sim published: report in \(output.indexHTML.path)")
        } catch {
            throw .failure("sim published: the report could not be written: \(error)")
        }
    }
}
